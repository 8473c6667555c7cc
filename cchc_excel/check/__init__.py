"""Checking: the spec's rules over a `Submission` (`rules`), the reports (`FileReport`, `Report`), checking
many paths in worker processes (`run`), and the feedback workbook that tells a unit what to fix.

May import `core`, `spec`, `ooxml`, `template`, `read`.
"""
