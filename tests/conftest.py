import os
import shutil

import pytest

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_NAME = "000_5e7b81ac8f684130.txt"
# CI runs everything: what a developer's machine may lack (soffice, the seed) is a failure there, not a skip.
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_collection_modifyitems(config, items):
    # LibreOffice tests are required in CI; on a developer machine without soffice they are skipped.
    if shutil.which("soffice") or IN_CI:
        return
    skip = pytest.mark.skip(reason="LibreOffice (soffice) is not installed")
    for item in items:
        if "libreoffice" in item.keywords:
            item.add_marker(skip)


def shared_folders(root: Path = ROOT) -> list[Path]:
    """Where `shared/` may be: beside the checkout (CI copies it there), and, when the checkout is a git
    worktree elsewhere, beside the main checkout the worktree belongs to."""
    folders = [root.parent / "shared"]
    dot_git = root / ".git"
    if dot_git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        text = dot_git.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            gitdir = (root / text[len("gitdir:"):].strip()).resolve()
            common = gitdir / "commondir"
            if common.is_file():
                gitdir = (gitdir / common.read_text(encoding="utf-8").strip()).resolve()
            folders.append(gitdir.parent.parent / "shared")
    return list(dict.fromkeys(folders))


def find_seed(folders: list[Path], in_ci: bool = IN_CI) -> Path:
    """The seed in the first of `folders` that has it; skips the test when none has, fails it under CI."""
    tried = [folder / "seeds" / SEED_NAME for folder in folders]
    for path in tried:
        if path.is_file():
            return path
    message = "seed file not found: " + ", ".join(map(str, tried))
    if in_ci:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def seed_file() -> Path:
    """The seed return (Q2/2023 of UBND phường Tam Quan Bắc) in `shared/seeds/` (see `find_seed`)."""
    return find_seed(shared_folders())
