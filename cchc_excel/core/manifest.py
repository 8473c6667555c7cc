"""The manifest of collected returns (`manifest.csv` beside the saved attachments): who sent which file,
when, in which message. `mail.collect` writes it; `merge` takes its dates as the times returns were
received."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from cchc_excel.core.atomic import append_csv, read_csv_log
from cchc_excel.core.lock import file_lock
from cchc_excel.errors import CchcError

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = ("saved_name", "original_name", "sender", "date", "subject", "sha256", "size",
                    "message_id", "source")
_TEXT_COLUMNS = ("saved_name", "original_name", "sender", "subject", "message_id", "source")


@dataclass(frozen=True)
class SavedAttachment:
    """One spreadsheet received: the file saved in the output folder and the message that brought it.

    For a duplicate, `saved_name` is the file that already holds the same content.
    """

    sender: str
    date: datetime | None
    subject: str
    original_name: str
    saved_name: str
    sha256: str
    size: int
    message_id: str
    source: str

    def to_dict(self) -> dict:
        d = asdict(self)
        d["date"] = self.date.isoformat() if self.date else None
        return d


def read_manifest(dir: Path) -> dict[str, SavedAttachment]:
    """The saved attachments listed in `dir/manifest.csv`, by saved name; {} if there is none yet."""
    path = Path(dir) / MANIFEST_NAME
    try:
        out = {}
        for row in read_csv_log(path, MANIFEST_COLUMNS, _TEXT_COLUMNS):
            try:
                date = datetime.fromisoformat(row["date"]) if row["date"] else None
            except ValueError:
                date = None
            out[row["saved_name"]] = SavedAttachment(
                date=date, sha256=row["sha256"], size=int(row["size"]), **{c: row[c] for c in _TEXT_COLUMNS})
        return out
    except (OSError, UnicodeDecodeError, ValueError, TypeError, csv.Error) as e:
        raise CchcError(f"{path}: không đọc được danh sách tệp đã nhận ({e})") from e


def write_manifest(out_dir: Path, new: list[SavedAttachment]) -> None:
    """Append `new` to `out_dir/manifest.csv` (made, with its header, when there is none), under the
    manifest's lock: two runs appending at once both keep their rows."""
    rows = [{**s.to_dict(), "date": s.date.isoformat() if s.date else ""} for s in new]
    with file_lock(Path(out_dir) / MANIFEST_NAME):
        append_csv(out_dir / MANIFEST_NAME, MANIFEST_COLUMNS, rows, _TEXT_COLUMNS)
