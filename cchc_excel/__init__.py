"""cchc_excel: the quarterly CCHC statistics (Biểu mẫu 1–7, Phụ lục I) in Excel.

Make locked templates from a form spec, read and check the returned workbooks, merge them into the report
of the level above, and do the quarter's email round trip. The command line is `cchc` (`cli/`); this
package never imports click.

The public API is what `__all__` lists (README, "Python API"). The verbs that need xlsxwriter,
python-calamine, pandas or the email stack are imported on first use (PEP 562), so that `import
cchc_excel` stays light.
"""

import importlib as _importlib

from cchc_excel.errors import CchcError, PeriodError, RosterError, SpecError, UnreadableFile
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.findings import Issue
from cchc_excel.core.roster import Roster, Unit, load_roster
from cchc_excel.spec.loader import load_spec
from cchc_excel.spec.model import FormSpec, Indicator
from cchc_excel.read.submission import Submission

# Name -> the module that defines it, imported when the name is first used.
_LAZY = {
    "write_template": "cchc_excel.template.build",
    "read_workbook": "cchc_excel.read.reader",
    "FileReport": "cchc_excel.check.report",
    "Report": "cchc_excel.check.report",
    "check_paths": "cchc_excel.check.run",
    "write_feedback": "cchc_excel.check.feedback",
    "MergeResult": "cchc_excel.merge.result",
    "aggregate_paths": "cchc_excel.merge.run",
    "write_merged_workbook": "cchc_excel.merge.workbook",
    "SmtpSettings": "cchc_excel.mail.smtp",
    "distribute": "cchc_excel.mail.distribute",
    "collect": "cchc_excel.mail.collect",
}

__all__ = [
    # errors
    "CchcError", "PeriodError", "RosterError", "SpecError", "UnreadableFile",
    # types
    "FileReport", "FormSpec", "Indicator", "Issue", "MergeResult", "Period", "Report", "Roster",
    "SmtpSettings", "Submission", "Unit",
    # verbs, in the order of a quarter
    "load_spec", "parse_period", "load_roster", "write_template", "read_workbook", "check_paths",
    "write_feedback", "aggregate_paths", "write_merged_workbook", "distribute", "collect",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # the next use does not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
