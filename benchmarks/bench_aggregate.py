"""Benchmark of `cchc aggregate`: merge 1,000 and 10,000 returns of distinct units, end to end.

    python benchmarks/bench_aggregate.py                 # 1,000 and 10,000 returns
    python benchmarks/bench_aggregate.py --sizes 1000    # quicker

For each size N it makes N filled returns of N made-up wards under one made-up province, in a temporary
folder: one real template (`template.template_bytes`, filled with a clean set of values) cloned N times by
rewriting only the zip members that change (the unit's name and code, and the value cells of the form
sheets, whose numbers are scaled per unit so every rule still holds). Then, in a fresh process (so that its
peak memory is its own), it times `cchc aggregate` end to end: read and check every file on 2 worker
processes, decide the statuses, total, and write OUT.xlsx, the JSON summary and the tidy CSV.

The naive way, for comparison: `pandas.read_excel(path, sheet_name=None)` of each file (one process, on a
sample, extrapolated), then summing the value column of every form sheet.

Printed from one run: returns/s end to end against the goal (>= 500/s), the ratio to the naive way (>= 20x),
the peak memory of the main process and of the largest worker at 10,000 returns (< 300 MB), and the cost per
return at each size (linear: about the same per return at 1,000 and at 10,000).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cchc_excel.core.periods import parse_period  # noqa: E402
from cchc_excel.core.roster import Unit  # noqa: E402
from cchc_excel.spec.loader import load_spec  # noqa: E402

PERIOD = "2023-Q2"
GOAL_PER_S = 500
GOAL_VS_NAIVE = 20
GOAL_MB = 300
TOKEN_CODE, TOKEN_NAME = "\ue000bench-code\ue001", "\ue000bench-name\ue001"

# A clean return of a ward (every rule of the spec holds, and keeps holding when the counts and amounts
# are multiplied by the same whole number).
CLEAN = {
    "BM1-1": 3, "BM1-2.1": 10, "BM1-2.2": 8, "BM1-3.1": 2, "BM1-3.3.1": 4, "BM1-3.3.2": 3, "BM1-4.1": 6,
    "BM1-4.2": 4, "BM1-4.3": 1, "BM1-4.4": 1, "BM1-5": 1, "BM1-5.1": 100, "BM1-5.2": 2, "BM1-6": 1,
    "BM2-1": 2, "BM2-1.3": 2, "BM2-2.2.1": 1, "BM2-2.2.2": 1, "BM2-3.1.1": 2, "BM2-3.1.2": 1,
    "BM3-1.1": 2, "BM3-1.2": 3, "BM3-1.3": 1, "BM3-1.4": 157, "BM3-1.4.3": 157, "BM3-2.1": 10, "BM3-2.2": 20,
    "BM3-2.3": 30, "BM3-3.1.1": 500, "BM3-3.1.2": 480, "BM3-3.2.1": 2, "BM3-3.2.2": 2,
    "BM4-1.1": 1, "BM4-2.1": 20, "BM4-2.2": 19, "BM4-2.3": 2, "BM4-2.4": 1, "BM4-2.5": 10.5, "BM4-3.1": 5,
    "BM4-3.2": 5, "BM4-3.3": 1, "BM4-3.4": 8,
    "BM5-1.1": 1, "BM5-1.2": 1, "BM5-1.3": 1, "BM5-2.1": 1, "BM5-2.2": 1, "BM5-2.4": 2, "BM5-2.5": 1,
    "BM5-3": 1, "BM5-4.3": 1,
    "BM6-1.1": 1000, "BM6-1.2": 800.5, "BM6-2.1": 3, "BM6-2.2": 1, "BM6-2.3": 1, "BM6-2.4": 1,
    "BM6-2.4.1": 1, "BM6-2.4.2": 0, "BM6-2.4.3": 0, "BM6-2.5": 0,
    "BM7-1.1": 95, "BM7-1.1.3": 95, "BM7-1.2": 90, "BM7-1.2.3": 90, "BM7-2.1.1": 100, "BM7-2.1.2": 80,
    "BM7-2.1.3": 50, "BM7-2.2.1": 60, "BM7-2.2.2": 40, "BM7-2.2.3": 20, "BM7-2.3.1": 120, "BM7-2.3.2": 100,
    "BM7-2.4.1": 1000, "BM7-2.4.2": 700, "BM7-2.5.1": 50, "BM7-2.5.2": 30,
}


# --------------------------------------------------------------------------------------------- the files

def unit_of(i: int) -> Unit:
    return Unit(f"XB{i:05d}", f"Xã Thử Nghiệm {i:05d}", "xa", "TB")  # made-up units


def values_of(i: int, spec) -> dict:
    """The clean values, counts and amounts scaled by 1..9, rates varied: distinct per unit, still clean."""
    k = 1 + i % 9
    out = {}
    for ind_id, v in CLEAN.items():
        kind = spec[ind_id].kind
        if kind in ("count", "amount"):
            out[ind_id] = v * k
        elif kind == "rate":
            out[ind_id] = round((v + i * 7) % 100 + 0.5, 1)
        else:
            out[ind_id] = v
    return out


class Cloner:
    """One template, filled once; copies with another unit and other numbers, by rewriting zip members."""

    def __init__(self, spec):
        from cchc_excel.template.build import template_bytes
        from cchc_excel.template.forms import layout
        from cchc_excel.ooxml.patch import ZipParts

        self.spec = spec
        data = template_bytes(spec, level="xa", unit=Unit(TOKEN_CODE, TOKEN_NAME, "xa"), period=PERIOD,
                              values=CLEAN)
        self.parts = ZipParts(data)
        self.text_parts = {}
        for name in self.parts.names():
            text = self.parts.read(name)
            if TOKEN_CODE.encode() in text or TOKEN_NAME.encode() in text:
                self.text_parts[name] = text.decode("utf-8")
        sheet_part = self._sheet_parts()
        cells = layout(spec)
        # Per sheet part: the XML cut around each value cell's number, and the indicator of each cut.
        self.sheets = {}
        by_part: dict[str, dict[int, str]] = {}
        for ind_id in CLEAN:
            sheet, row = cells[ind_id]
            by_part.setdefault(sheet_part[sheet], {})[row + 1] = ind_id
        for part, rows in by_part.items():
            xml = self.parts.read(part).decode("utf-8")
            chunks, ids, pos = [], [], 0
            for m in re.finditer(r'<c r="D(\d+)"[^>]*><v>([^<]*)</v></c>', xml):
                ind_id = rows.get(int(m.group(1)))
                if ind_id is None:
                    continue
                chunks.append(xml[pos:m.start(2)])
                ids.append(ind_id)
                pos = m.end(2)
            chunks.append(xml[pos:])
            missing = set(rows.values()) - set(ids)
            if missing:
                raise RuntimeError(f"value cells not found in {part}: {sorted(missing)}")
            self.sheets[part] = (chunks, ids)

    def _sheet_parts(self) -> dict:
        workbook = self.parts.read("xl/workbook.xml").decode("utf-8")
        rels = self.parts.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        targets = dict(re.findall(r'<Relationship Id="([^"]+)" Type="[^"]+" Target="([^"]+)"', rels))
        out = {}
        for name, rid in re.findall(r'<sheet name="([^"]+)" sheetId="\d+"(?: state="\w+")? r:id="([^"]+)"',
                                    workbook):
            out[name.replace("&amp;", "&")] = "xl/" + targets[rid].lstrip("/").removeprefix("xl/")
        return out

    def copy(self, i: int) -> bytes:
        unit, values = unit_of(i), values_of(i, self.spec)
        replace = {part: text.replace(TOKEN_CODE, unit.code).replace(TOKEN_NAME, unit.name).encode("utf-8")
                   for part, text in self.text_parts.items()}
        for part, (chunks, ids) in self.sheets.items():
            pieces = [chunks[0]]
            for j, ind_id in enumerate(ids):
                pieces += (_number(values[ind_id]), chunks[j + 1])
            replace[part] = "".join(pieces).encode("utf-8")
        return self.parts.build(replace)


def _number(v) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


_CLONER = None


def _write_chunk(args):
    global _CLONER
    folder, indices = args
    if _CLONER is None:
        _CLONER = Cloner(load_spec())
    for i in indices:
        (Path(folder) / f"{unit_of(i).code}.xlsx").write_bytes(_CLONER.copy(i))
    return len(indices)


def make_returns(folder: Path, n: int, jobs: int = 2) -> float:
    """Write N returns and the roster into `folder`; seconds taken."""
    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["ma_don_vi,ten_don_vi,cap,don_vi_cha", "TB,Tỉnh Thử Nghiệm,tinh,"]
    lines += [f"{u.code},{u.name},xa,TB" for u in map(unit_of, range(n))]
    (folder.parent / f"roster-{n}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    chunks = [(str(folder), list(range(s, min(n, s + 250)))) for s in range(0, n, 250)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(_write_chunk, chunks))
    return time.perf_counter() - start


# --------------------------------------------------------------------------------------------- the runs

def run_aggregate(folder: str, roster: str, out: str, jobs: int) -> dict:
    """`cchc aggregate` end to end, timed by phase; run in a fresh process."""
    from cchc_excel.merge.exports import write_csv, write_json
    from cchc_excel.merge.run import aggregate_paths
    from cchc_excel.merge.workbook import write_merged_workbook

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    result = aggregate_paths([folder], roster=roster, period=PERIOD, jobs=jobs)
    t1 = time.perf_counter()
    write_merged_workbook(result, out_dir / "OUT.xlsx")
    t2 = time.perf_counter()
    write_json(result, out_dir / "SUMMARY.json")
    write_csv(result, out_dir / "TIDY.csv")
    t3 = time.perf_counter()
    statuses = {}
    for f in result.files:
        statuses[f.status] = statuses.get(f.status, 0) + 1
    return {
        "files": len(result.files), "statuses": statuses, "merged_units": result.merged_units,
        "read_check_merge_s": t1 - t0, "xlsx_s": t2 - t1, "json_csv_s": t3 - t2, "total_s": t3 - t0,
        "out_mb": (out_dir / "OUT.xlsx").stat().st_size / 1e6,
        "csv_mb": (out_dir / "TIDY.csv").stat().st_size / 1e6,
        "peak_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def run_in_fresh_process(folder: Path, roster: Path, out: Path, jobs: int) -> dict:
    code = (f"import sys, json; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'benchmarks')!r});"
            f"import bench_aggregate as b; print(json.dumps(b.run_aggregate({str(folder)!r}, {str(roster)!r}, "
            f"{str(out)!r}, {jobs})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def time_naive(files: list, spec) -> float:
    """Seconds per file of the naive way: pandas.read_excel of every sheet, then summing the values."""
    import pandas as pd

    from cchc_excel.template.forms import FIRST_ROW

    sheets = [form.name for form in spec.forms]
    totals: dict = {}
    start = time.perf_counter()
    for path in files:
        book = pd.read_excel(path, sheet_name=None, header=None, engine="openpyxl")
        for sheet in sheets:
            frame = book[sheet]
            column = pd.to_numeric(frame.iloc[FIRST_ROW:, 3], errors="coerce")
            for row, value in column.items():
                if value == value:
                    totals[(sheet, row)] = totals.get((sheet, row), 0) + value
    return (time.perf_counter() - start) / len(files)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--naive-sample", type=int, default=60)
    parser.add_argument("--keep", type=Path, help="keep the files here instead of a temporary folder")
    args = parser.parse_args(argv)
    spec = load_spec()
    parse_period(PERIOD)
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-aggregate-"))
    rows = []
    try:
        for n in args.sizes:
            folder = base / f"returns-{n}"
            made = make_returns(folder, n, args.jobs)
            run = run_in_fresh_process(folder, base / f"roster-{n}.csv", base / f"out-{n}", args.jobs)
            run.update(n=n, make_s=made)
            rows.append(run)
            print(f"{n:>6} returns: made in {made:.1f} s; merged in {run['total_s']:.1f} s "
                  f"({n / run['total_s']:.0f}/s: read+check+merge {run['read_check_merge_s']:.1f} s, "
                  f"OUT.xlsx {run['xlsx_s']:.1f} s ({run['out_mb']:.1f} MB), JSON+CSV {run['json_csv_s']:.1f} s "
                  f"({run['csv_mb']:.0f} MB)); statuses {run['statuses']}; peak memory: main "
                  f"{run['peak_main_mb']:.0f} MB, largest worker {run['peak_worker_mb']:.0f} MB", flush=True)
            assert run["statuses"] == {"merged": n}, run["statuses"]
        sample = sorted((base / f"returns-{args.sizes[0]}").iterdir())[: args.naive_sample]
        naive = time_naive(sample, spec)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(f"naive (pandas.read_excel + sum, 1 process, {len(sample)} files): {naive * 1000:.0f} ms/return "
          f"= {1 / naive:.0f}/s")
    print()
    print(f"{'returns':>8} {'seconds':>8} {'returns/s':>10} {'ms/return':>10} {'vs naive':>9} {'main MB':>8} "
          f"{'worker MB':>9}")
    for r in rows:
        rate = r["n"] / r["total_s"]
        print(f"{r['n']:>8} {r['total_s']:>8.1f} {rate:>10.0f} {1000 / rate:>10.2f} {rate * naive:>8.0f}x "
              f"{r['peak_main_mb']:>8.0f} {r['peak_worker_mb']:>9.0f}")
    last = rows[-1]
    rate = last["n"] / last["total_s"]
    ok = rate >= GOAL_PER_S and rate * naive >= GOAL_VS_NAIVE and last["peak_main_mb"] < GOAL_MB
    print(f"goals at {last['n']} returns: >= {GOAL_PER_S}/s: {rate:.0f}/s; >= {GOAL_VS_NAIVE}x naive: "
          f"{rate * naive:.0f}x; main process < {GOAL_MB} MB: {last['peak_main_mb']:.0f} MB -> "
          f"{'met' if ok else 'NOT met'}")
    if len(rows) > 1:
        per = [r["total_s"] / r["n"] * 1000 for r in rows]
        print("cost per return: " + ", ".join(f"{r['n']}: {p:.2f} ms" for r, p in zip(rows, per))
              + f" (ratio {per[-1] / per[0]:.2f}; 1.00 is linear)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
