"""The narrative report draft in Word (.docx): Nghị định 30/2020 presentation, the sections of the report
with each area's paragraph built from the merged totals (the spec's `report:` sentences), Phụ lục I as
tables of the merged values.

May import every stage before it: `core`, `spec`, `ooxml`, `template`, `read`, `check`, `merge`, `mail`.
"""

from cchc_excel.word.own import own_result
from cchc_excel.word.report import write_report

__all__ = ["write_report", "own_result"]
