"""Benchmark of the speed limits the tests used to assert (tests assert no durations: a shared CI machine
is too noisy for that).

    python benchmarks/bench_limits.py [--repeat 3]

Measures, in one run, each against the budget its test had (generous, for busy machines):
- `parse_value` of a cell as officials type it (~160 cells a file at 600 files/s leave ~10 µs a cell;
  budget 50 µs);
- `read_workbook` of one return, CPU time per file: our template filled with the seed's numbers (budget
  8 ms) and the seed's forms hand-made down one sheet (budget 15 ms);
- `read_workbook` of the hand-made forms on top of a sheet of 400,000 rows (budget 2 s);
- `check_file` of each hostile file of `tests/test_check_cli.py` (bombs, huge sheets; budget 5 s each).

The files are built with the tests' own builders (`tests/` on the path). Exit status 1 when a figure is
over its budget.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from cchc_excel.check.run import check_file  # noqa: E402
from cchc_excel.core.values import parse_value  # noqa: E402
from cchc_excel.read.reader import read_workbook  # noqa: E402

import test_check_cli  # noqa: E402  (the hostile files)
import test_reader  # noqa: E402  (the seed's return, the 400,000-row sheet)
from workbooks import write_handmade, write_template  # noqa: E402

CELLS = [float(i) for i in range(150)] + ["12", "", "1.234", "x", "16,2", 0.48, None, "Có", True, "abc"]


def parse_us_per_cell(repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(100):
            for raw in CELLS:
                parse_value(raw, "count")
        best = min(best, (time.perf_counter() - start) / (100 * len(CELLS)))
    return best * 1e6


def read_cpu_ms(path: Path, repeat: int, n: int = 20) -> float:
    read_workbook(path)  # imports, caches
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(n):
            read_workbook(path)
        best = min(best, (time.process_time() - start) / n * 1000)
    return best


def wall_s(function, *args, **kwargs) -> float:
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def measure(tmp: Path, repeat: int) -> list[tuple[str, float, float, str]]:
    """(what, figure, budget, unit) for every limit."""
    spec, seed = test_reader.SPEC, test_reader.SEED
    template = write_template(tmp / "tam-quan-bac.xlsx", spec, level="xa", unit=test_reader.TQB,
                              period="2023-Q2", values=test_reader.SEED_INPUTS)
    stacked = write_handmade(tmp / "phu-luc.xlsx", spec, seed, layout="stacked", title_rows=test_reader.TITLE,
                             page_break=9, column_numbers=True, extra_columns=True)
    rows = [
        ("parse_value, one cell", parse_us_per_cell(repeat), 50.0, "µs"),
        ("read_workbook, our template (CPU)", read_cpu_ms(template, repeat), 8.0, "ms"),
        ("read_workbook, hand-made stacked (CPU)", read_cpu_ms(stacked, repeat), 15.0, "ms"),
    ]
    huge = test_reader.huge_sheet(tmp)
    rows.append(("read_workbook, 400,000-row sheet",
                 min(wall_s(read_workbook, huge, roster=test_reader.ROSTER) for _ in range(repeat)), 2.0, "s"))
    good = write_template(tmp / "good.xlsx", spec, unit=test_reader.TQB, period="2023-Q2",
                          values=test_check_cli.CLEAN)
    for name, (build, _) in test_check_cli.BAD_FILES.items():
        build(tmp / name, good)
        rows.append((f"check_file, {name}", wall_s(check_file, tmp / name), 5.0, "s"))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measure; the best counts")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-limits-") as tmp:
        rows = measure(Path(tmp), args.repeat)
    over = 0
    for what, figure, budget, unit in rows:
        verdict = "ok" if figure < budget else "OVER"
        over += verdict == "OVER"
        print(f"{what:<44} {figure:9.3f} {unit:<2}  budget {budget:g} {unit}  "
              f"({figure / budget:.0%} of it)  {verdict}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
