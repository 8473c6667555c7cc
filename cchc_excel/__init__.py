"""cchc_excel: the quarterly CCHC statistics (Biểu mẫu 1–7, Phụ lục I) in Excel.

Make locked templates from a form spec, read and check the returned workbooks, merge them into the report
of the level above, and do the quarter's email round trip. The command line is `cchc` (`cli/`); this
package never imports click.
"""

from cchc_excel.errors import CchcError, PeriodError, RosterError, SpecError, UnreadableFile
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.findings import Issue
from cchc_excel.core.roster import Roster, Unit, load_roster
from cchc_excel.spec.loader import load_spec
from cchc_excel.spec.model import FormSpec, Indicator
from cchc_excel.read.submission import Submission

__all__ = [
    "CchcError", "FormSpec", "Indicator", "Issue", "Period", "PeriodError", "Roster", "RosterError",
    "SpecError", "Submission", "Unit", "UnreadableFile", "load_roster", "load_spec", "parse_period",
]
