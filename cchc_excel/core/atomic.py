"""Atomic outputs: every file this package writes goes to a temporary file in the target folder and is
renamed into place only when complete, so an interrupted run never leaves a half-written file (and never
replaces a good one with a broken one). The CSV logs that `collect` and `distribute` keep are appended to
the same way."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import secrets
from pathlib import Path

# O_EXCL: never reuse a file someone else created; the mode 0o666 is narrowed by the process umask, as a
# plain open() would (mkstemp's 0600 would need the umask, which can only be read by changing it).
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def create_temp(folder: Path, name: str) -> tuple[int, Path]:
    """A new empty file beside `name` in `folder`, opened for writing: (descriptor, path)."""
    while True:
        tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o666), tmp
        except FileExistsError:
            continue


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable; not every system can open a folder (Windows cannot)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | Path, *, sync_folder: bool = True):
    """A binary file to write `path` through: flushed to disk and renamed into place when the block ends
    without error, removed otherwise. The folder is created if needed. With `sync_folder=False` the
    rename is durable only once the caller fsyncs the folder (`fsync_folder`), e.g. once for a batch."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync_folder:
        fsync_folder(path.parent)


def write_bytes_atomic(path: str | Path, data: bytes, *, sync_folder: bool = True) -> Path:
    """Write `data` to `path` atomically (see `atomic_file`); returns the path."""
    with atomic_file(path, sync_folder=sync_folder) as f:
        f.write(data)
    return Path(path)


# ---------------------------------------------------------------------------------------------------
# CSV logs (`manifest.csv` of collect, `da-gui.csv` of distribute): appended to, read back.

# A spreadsheet takes a cell for a formula when it starts with one of these. The cell may start at the
# start of a field or, when the file is opened with another separator than ours (Excel in Vietnam often
# splits on `;`), after any separator or quote inside a field: OWASP's CSV-injection guidance. So a `'`
# goes before every such start, and before a `'` there, which makes the escape reversible.
_FORMULA_START = "=+-@\t\r'"
_CELL_START = r"(?:^|(?<=[,;\t|\"\r\n]))"
_ESCAPE = re.compile(_CELL_START + f"(?=[{re.escape(_FORMULA_START)}])")
_UNESCAPE = re.compile(_CELL_START + f"'(?=[{re.escape(_FORMULA_START)}])")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def csv_safe(value: str) -> str:
    """`value` with a `'` before every place a spreadsheet could start a formula (`Xã E;=1+1` becomes
    `Xã E;'=1+1`); a plain number such as `-5` is left as it is. `csv_unsafe` undoes it."""
    return value if _NUMBER.match(value) else _ESCAPE.sub("'", value)


def csv_unsafe(value: str) -> str:
    return _UNESCAPE.sub("", value)


def append_csv(path: str | Path, columns: tuple, rows, text_columns: tuple = ()) -> Path:
    """Append `rows` ({column: value}) to the CSV log `path`, atomically: the file is rewritten whole and
    renamed into place, so an interrupted append leaves the old lines intact.

    A new file starts with a UTF-8 BOM (so that Excel reads Vietnamese right) and the header `columns`;
    lines end with CRLF, and an old last line that lost its line end gets one back. Every field is
    quoted, and values of `text_columns` go through `csv_safe`.
    """
    path = Path(path)
    if path.exists():
        old = path.read_bytes()
        if old and not old.endswith(b"\n"):
            old += b"\r\n"
    else:
        old = ("\ufeff" + ",".join(columns) + "\r\n").encode("utf-8")
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_ALL).writerows(
        [csv_safe(row[c]) if c in text_columns else row[c] for c in columns] for row in rows)
    return write_bytes_atomic(path, old + buf.getvalue().encode("utf-8"))


def read_csv_log(path: str | Path, columns: tuple, text_columns: tuple = ()) -> list[dict]:
    """The rows of the CSV log `path` as {column: text}, `text_columns` undone by `csv_unsafe`; [] when the
    file does not exist.

    Raises:
        ValueError (its header is not `columns`), OSError, UnicodeDecodeError, csv.Error: for the caller
            to name the file.
    """
    path = Path(path)
    if not path.exists():
        return []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != tuple(columns):
            raise ValueError("dòng tiêu đề không đúng: " + ", ".join(reader.fieldnames or ()))
        return [{k: csv_unsafe(v or "") if k in text_columns else (v or "") for k, v in row.items()}
                for row in reader]
