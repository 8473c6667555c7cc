"""The quarter's workspace: a folder with a SQLite database and a content-addressed store of every file
received (`space.Workspace`), and what the page and the command line ask of it (`views`)."""

from cchc_excel.workspace.space import DEFAULT_FOLDER, Workspace
from cchc_excel.workspace.store import StoreError

__all__ = ["DEFAULT_FOLDER", "Workspace", "StoreError"]
