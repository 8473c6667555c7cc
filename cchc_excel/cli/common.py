"""Helpers shared by the command modules."""

from __future__ import annotations

import contextlib

import click

from cchc_excel.errors import CchcError


@contextlib.contextmanager
def library_errors():
    """Turn a library error into click's one-line `Error: ...` and exit status 1."""
    try:
        yield
    except CchcError as e:
        raise click.ClickException(str(e)) from e
