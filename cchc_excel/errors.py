"""Exceptions: for "cannot go on". Findings about a return are data (`report.Issue`), never exceptions.

Every message is Vietnamese, for the official who reads it, and names the file (and line, sheet or cell)
it is about. The CLI prints `str(error)` as it is.
"""


class CchcError(Exception):
    "Base of every error this package raises on purpose; its text is shown to the user as it is."


class SpecError(CchcError):
    "The form spec (YAML) is broken; the message names the file and the row."


class RosterError(CchcError):
    "The roster of units cannot be used; the message names the file and the line."


class PeriodError(CchcError):
    "A reporting period could not be understood."


class UnreadableFile(CchcError):
    "A returned file cannot be read at all (not a spreadsheet, encrypted, a zip bomb, ...)."


class OutputError(CchcError):
    "An output cannot be written (a read-only folder, a full disk, a target that is a folder, ...)."
