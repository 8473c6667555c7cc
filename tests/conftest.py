import os
import shutil

import pytest

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    # LibreOffice tests are required in CI; on a developer machine without soffice they are skipped.
    if shutil.which("soffice") or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="LibreOffice (soffice) is not installed")
    for item in items:
        if "libreoffice" in item.keywords:
            item.add_marker(skip)
