"""Reading returns: whatever came back (our templates, edited or hand-made layouts, .xls, .ods) into a
`Submission`: the layout found, the unit and period identified, every value parsed, with the reader's
findings.

May import `core`, `spec`, `ooxml`, `template.metadata`.
"""
