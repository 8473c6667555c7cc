"""The workspace's SQLite database: one connection per thread or process, WAL, foreign keys on, every
change in a `with conn:` transaction, and a schema version (`PRAGMA user_version`) raised by numbered
migrations."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from cchc_excel.errors import CchcError

DB_NAME = "cchc.sqlite3"
BUSY_TIMEOUT_MS = 30_000  # another process's write transaction is waited for, not failed

# Migration n takes the schema from version n - 1 to n. Never edit one that has shipped: add the next.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, stored_at TEXT NOT NULL);
    CREATE TABLE rosters (
        id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL REFERENCES blobs(sha256), name TEXT NOT NULL,
        uploaded_at TEXT NOT NULL, who TEXT NOT NULL DEFAULT '', units INTEGER NOT NULL);
    CREATE TABLE units (
        roster_id INTEGER NOT NULL REFERENCES rosters(id), code TEXT NOT NULL, name TEXT NOT NULL,
        level TEXT NOT NULL, parent TEXT, email TEXT NOT NULL DEFAULT '', PRIMARY KEY (roster_id, code));
    CREATE TABLE periods (code TEXT PRIMARY KEY, created_at TEXT NOT NULL);
    CREATE TABLE uploads (
        id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL REFERENCES blobs(sha256), name TEXT NOT NULL,
        period TEXT NOT NULL REFERENCES periods(code),
        source TEXT NOT NULL CHECK (source IN ('upload', 'folder', 'mail')),
        received_at TEXT NOT NULL, who TEXT NOT NULL DEFAULT '');
    CREATE TABLE files (
        id INTEGER PRIMARY KEY, upload_id INTEGER NOT NULL REFERENCES uploads(id), shown TEXT NOT NULL,
        member TEXT, status TEXT NOT NULL, unit TEXT, unit_name TEXT, unit_level TEXT, period TEXT,
        spec TEXT, sha256 TEXT NOT NULL DEFAULT '', saved_at TEXT, reported_levels TEXT NOT NULL DEFAULT '',
        merged_units INTEGER, values_json TEXT NOT NULL DEFAULT '{}');
    CREATE INDEX files_upload ON files(upload_id);
    CREATE TABLE findings (
        file_id INTEGER NOT NULL REFERENCES files(id), n INTEGER NOT NULL, severity TEXT NOT NULL,
        rule TEXT NOT NULL, indicator TEXT NOT NULL, sheet TEXT NOT NULL, cell TEXT NOT NULL,
        message TEXT NOT NULL, PRIMARY KEY (file_id, n));
    CREATE TABLE explanations (
        id INTEGER PRIMARY KEY, period TEXT NOT NULL REFERENCES periods(code), unit TEXT NOT NULL,
        indicator TEXT NOT NULL DEFAULT '', text TEXT NOT NULL, at TEXT NOT NULL, who TEXT NOT NULL DEFAULT '');
    CREATE TABLE unit_status (
        period TEXT NOT NULL REFERENCES periods(code), unit TEXT NOT NULL, status TEXT NOT NULL,
        late INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL,
        PRIMARY KEY (period, unit));
    CREATE TABLE sent (
        id INTEGER PRIMARY KEY, period TEXT NOT NULL, unit TEXT NOT NULL, kind TEXT NOT NULL,
        recipients TEXT NOT NULL, message_id TEXT NOT NULL, at TEXT, status TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '');
    CREATE TABLE merged (
        period TEXT NOT NULL REFERENCES periods(code), unit TEXT NOT NULL DEFAULT '', at TEXT NOT NULL,
        summary_json TEXT NOT NULL, PRIMARY KEY (period, unit));
    """,
    # 2: the workspace's settings (its own unit); a file's received time kept apart from its upload time
    # (a manifest's or a message's date is the better one), with where it came from (`space.RECEIVED_BY`);
    # a warning's explanation (the return's Ghi chú).
    """
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
    ALTER TABLE uploads ADD COLUMN uploaded_at TEXT;
    UPDATE uploads SET uploaded_at = received_at;
    ALTER TABLE uploads ADD COLUMN received_by TEXT NOT NULL DEFAULT 'upload';
    ALTER TABLE findings ADD COLUMN explanation TEXT NOT NULL DEFAULT '';
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)



@contextlib.contextmanager
def writing(conn: sqlite3.Connection):
    """A write transaction: taken at once (`BEGIN IMMEDIATE`, waiting for another writer), committed when
    the block ends, rolled back on an exception."""
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        yield conn


@contextlib.contextmanager
def reading(conn: sqlite3.Connection):
    """A read transaction: every query in the block sees the same snapshot (WAL), whatever is committed
    meanwhile."""
    with conn:
        conn.execute("BEGIN")
        yield conn


def connect(folder: str | Path) -> sqlite3.Connection:
    """A connection to the workspace database in `folder` (created and migrated if needed); one per thread
    and process: a connection is never shared across threads nor inherited across a fork."""
    path = Path(folder) / DB_NAME
    try:
        # isolation_level None: no implicit transactions; `writing`/`reading` open them explicitly.
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        migrate(conn)
    except sqlite3.DatabaseError as e:
        raise CchcError(f"{path}: không mở được cơ sở dữ liệu của thư mục làm việc ({e}).") from e
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations the database has not had yet, each in its own transaction; the version."""
    while True:
        with writing(conn):  # two processes opening a new workspace migrate once
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise CchcError(f"Thư mục làm việc được tạo bởi phiên bản mới hơn của công cụ (lược đồ "
                                f"{version} > {SCHEMA_VERSION}); hãy cập nhật công cụ.")
            if version == SCHEMA_VERSION:
                return version
            for statement in MIGRATIONS[version].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={version + 1}")
