"""Benchmark: templates per second, for one template and for a roster of 1,000 units.

    python benchmarks/bench_template.py [--units 1000] [--scratch 100] [--repeat 20]

Measures, in one run:
- one template built with xlsxwriter (`write_template`), repeated;
- a roster of N made-up units with `write_roster_templates` (one build per level, then per-unit copies
  that rewrite only the zip members naming the unit);
- the same units built from scratch one by one with `write_template` (a sample, to keep the run short:
  the rate is what is compared).
Goals (issue 2): 1,000 per-unit templates in under 5 s on 2 cores, at least 3x faster than from scratch.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cchc_excel.core.periods import parse_period  # noqa: E402
from cchc_excel.core.roster import Roster, Unit  # noqa: E402
from cchc_excel.spec.loader import load_spec  # noqa: E402
from cchc_excel.template.build import template_filename, write_roster_templates, write_template  # noqa: E402


def made_up_roster(n: int) -> Roster:
    """A province with districts of 20 communes each and a few departments (codes are made up)."""
    roster = Roster(source="benchmark")
    roster.units["52"] = Unit("52", "Tỉnh Bình Định", "tinh")
    district = None
    for i in range(n):
        code = str(30000 + i)
        if i % 21 == 0:
            district = code
            roster.units[code] = Unit(code, f"UBND huyện Số {i // 21 + 1}", "huyen", "52")
        elif i % 50 == 7:
            roster.units[code] = Unit(code, f"Sở Ngành {i}", "so", "52")
        else:
            roster.units[code] = Unit(code, f"UBND phường Hoài Đức {i}", "xa", district)
    return roster


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--scratch", type=int, default=100, help="units built from scratch (a sample)")
    parser.add_argument("--repeat", type=int, default=20, help="builds of one template")
    args = parser.parse_args(argv)
    spec = load_spec()
    period = parse_period("2023-Q2")
    roster = made_up_roster(args.units)
    units = roster.reporting_units()

    with tempfile.TemporaryDirectory(prefix="bench-template-") as tmp:
        tmp = Path(tmp)
        write_template(tmp / "warm.xlsx", spec, level="xa", unit=units[0], period=period)  # imports, caches

        started = time.perf_counter()
        for i in range(args.repeat):
            write_template(tmp / f"one-{i}.xlsx", spec, level="xa", unit=units[0], period=period)
        one = (time.perf_counter() - started) / args.repeat

        started = time.perf_counter()
        paths = write_roster_templates(roster, period, tmp / "roster", spec)
        roster_s = time.perf_counter() - started
        size = sum(p.stat().st_size for p in paths) / len(paths)

        sample = units[:args.scratch]
        (tmp / "scratch").mkdir()
        started = time.perf_counter()
        for unit in sample:
            write_template(tmp / "scratch" / template_filename(unit, period), spec, level=unit.level, unit=unit,
                           period=period)
        scratch = (time.perf_counter() - started) / len(sample)

    fast_rate = len(paths) / roster_s
    print(f"one template (xlsxwriter):           {one * 1000:7.1f} ms   {1 / one:8.1f} templates/s")
    print(f"roster of {len(paths):,} units (fast copies): {roster_s:7.2f} s    {fast_rate:8.1f} templates/s"
          f"   ({size / 1024:.0f} KB each)")
    print(f"from scratch ({len(sample)} units sampled):   {scratch * 1000:7.1f} ms   {1 / scratch:8.1f} templates/s"
          f"   (~{scratch * len(paths):.1f} s for {len(paths):,})")
    speedup = fast_rate * scratch
    goal_time = roster_s * 1000 / len(paths)
    print(f"speed-up over from scratch: {speedup:.1f}x (goal >= 3x); "
          f"1,000 units take ~{goal_time:.2f} s (goal < 5 s)")
    return 0 if speedup >= 3 and goal_time < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
