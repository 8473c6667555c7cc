"""The page for district staff (`cchc serve`): a small Flask application over a `Workspace`."""

from cchc_excel.web.app import create_app

__all__ = ["create_app"]
