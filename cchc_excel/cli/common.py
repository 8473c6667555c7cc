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


def load_option(load, error_type, name: str):
    """`load()`, the object an option names (a spec, a roster, a period); its library error
    `error_type` becomes a usage error about option `name` (exit status 2)."""
    try:
        return load()
    except error_type as e:
        raise click.BadParameter(str(e), param_hint=name) from e
