"""Benchmark of `cchc check`: check N returned workbooks, against pandas and python-calamine alone.

    python benchmarks/bench_check.py --n 1000

Makes N filled returns (our template for N made-up wards, `template.write_template`, values varied from
the seed ward's, one in ten with an error), then times, all in one run on the same files:

1. `check_paths` over the folder with 2 worker processes: read, check and report every file;
2. `pandas.read_excel(path, sheet_name=None)` (its default openpyxl engine), one process, on a sample of
   `--pandas-sample` files, extrapolated to N (pandas needs ~40 ms a file: the full run would take a minute);
3. python-calamine alone opening each file and reading every sheet (`to_python()`), 2 worker processes
   like the check, the floor any calamine-based checker can reach;

and prints files/s and the ratios against the goals (>= 600 files/s, >= 25x pandas, within 2x of
calamine). Peak memory is measured in fresh processes checking N and N/5 files (the main process and the
largest worker), to show it does not grow with the number of files.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cchc_excel.check.run import check_paths, find_files  # noqa: E402
from cchc_excel.core.roster import Unit  # noqa: E402
from cchc_excel.spec.loader import load_spec  # noqa: E402

SEED = {
    "BM1-1": 6, "BM1-2.1": 25, "BM1-2.2": 12, "BM1-5": 1, "BM1-5.1": 10, "BM1-5.2": 0, "BM1-6": 1,
    "BM2-1.3": 0, "BM3-1.4": 157, "BM3-1.4.3": 157, "BM3-3.1.1": 369, "BM3-3.1.2": 369, "BM3-3.2.1": 0,
    "BM3-3.2.2": 0, "BM4-1.1": 1, "BM4-2.1": 0, "BM4-2.2": 20, "BM4-2.3": 2, "BM4-2.4": 0, "BM4-3.1": 42,
    "BM4-3.2": 42, "BM4-3.3": 0, "BM4-3.4": 0, "BM7-1.1": 100, "BM7-1.1.3": 100, "BM7-1.2.3": 100,
    "BM7-2.4.1": 399, "BM7-2.4.2": 399,
}
GOAL_FILES_PER_S = 600
GOAL_VS_PANDAS = 25
GOAL_VS_CALAMINE = 2


# --------------------------------------------------------------------------------------------- the files

def returned_values(i: int) -> dict:
    """The seed ward's numbers, varied per file; every tenth file has an error (on-time > settled)."""
    rnd = random.Random(i)
    values = dict(SEED)
    settled = rnd.randint(50, 900)
    values.update({
        "BM1-1": rnd.randint(0, 15), "BM1-2.1": 25, "BM1-2.2": rnd.randint(0, 25),
        "BM3-3.1.1": settled, "BM3-3.1.2": settled - rnd.randint(0, 10),
        "BM4-2.1": rnd.randint(15, 25), "BM4-2.2": rnd.randint(10, 25),
        "BM7-2.4.1": settled + 30, "BM7-2.4.2": rnd.randint(0, settled + 30), "BM7-1.2": 100,
        "BM6-1.1": round(rnd.uniform(100, 5000), 1), "BM6-1.2": round(rnd.uniform(0, 100), 1),
    })
    if i % 10 == 9:
        values["BM3-3.1.2"] = settled + 1
    return values


def _write_one(args):
    i, folder = args
    path = Path(folder) / f"xa-{i:05d}.xlsx"
    unit = Unit(f"BD-HN-{i:05d}", f"UBND xã Thử Nghiệm {i}", "xa")  # made-up units
    values = returned_values(i)
    try:
        from cchc_excel.template.build import write_template
    except ImportError:  # before the template writer exists: a plain workbook of the same shape
        _write_plain(path, values, unit)
    else:
        write_template(path, load_spec(), level="xa", unit=unit, period="2023-Q2", values=values)
    return path


def _write_plain(path: Path, values: dict, unit: Unit):
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    for form in load_spec().forms:
        ws = wb.add_worksheet(form.name)
        ws.write_string(0, 0, f"{unit.name.upper()} — BÁO CÁO CCHC QUÝ II/2023")
        ws.write_string(2, 0, form.name)
        ws.write_row(3, 0, ["STT", "Chỉ tiêu thống kê", "Đơn vị tính", "Số liệu", "Ghi chú"])
        for n, ind in enumerate(form.indicators):
            ws.write_row(4 + n, 0, [ind.code + ".", ind.label, ind.unit])
            if values.get(ind.id) is not None:
                ws.write_number(4 + n, 3, values[ind.id])
    wb.close()


def _code_version() -> str:
    """A short hash of the template writer's sources: returns made by older code are not reused."""
    import hashlib

    import cchc_excel

    package = Path(cchc_excel.__file__).parent
    digest = hashlib.sha256()
    for source in sorted(package.glob("template/*.py")) + sorted(package.glob("spec/forms/*.yaml")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:10]


def make_returns(folder: Path, n: int, jobs: int) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    have = sorted(folder.glob("xa-*.xlsx"))
    if len(have) >= n:
        return [str(p) for p in have[:n]]
    todo = [(i, str(folder)) for i in range(n) if not (folder / f"xa-{i:05d}.xlsx").exists()]
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(_write_one, todo, chunksize=16))
    print(f"wrote {len(todo)} returns in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return [str(p) for p in sorted(folder.glob("xa-*.xlsx"))[:n]]


# --------------------------------------------------------------------------------------------- timings

def _calamine_chunk(paths):
    from python_calamine import CalamineWorkbook

    cells = 0
    for path in paths:
        wb = CalamineWorkbook.from_path(path)
        for name in wb.sheet_names:
            cells += sum(len(row) for row in wb.get_sheet_by_name(name).to_python())
    return cells


def time_calamine(files: list, jobs: int) -> float:
    size = max(1, min(64, len(files) // (jobs * 8) or 1))
    chunks = [files[i:i + size] for i in range(0, len(files), size)]
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        sum(pool.map(_calamine_chunk, chunks))
    return time.perf_counter() - start


def time_pandas(files: list) -> float:
    import pandas as pd

    start = time.perf_counter()
    for path in files:
        pd.read_excel(path, sheet_name=None, engine="openpyxl")
    return time.perf_counter() - start


def time_check(files: list, jobs: int):
    start = time.perf_counter()
    report = check_paths(files, jobs=jobs)
    return time.perf_counter() - start, report


def peak_rss(files: list, jobs: int) -> dict:
    """Check `files` in a fresh process; its peak RSS and its largest worker's, in MB."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(files, f)
    try:
        out = subprocess.run([sys.executable, __file__, "--rss-child", f.name, "--jobs", str(jobs)],
                             capture_output=True, text=True, check=True)
    finally:
        os.unlink(f.name)
    return json.loads(out.stdout)


def _rss_child(list_file: str, jobs: int):
    files = json.loads(Path(list_file).read_text())
    report = check_paths(files, jobs=jobs)
    assert len(report.files) == len(files)
    print(json.dumps({"main_mb": _own_peak_mb(),
                      "worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))


def _own_peak_mb() -> float:
    # Linux keeps ru_maxrss across exec, so a process started from this (pandas-laden) one would report
    # our size: VmHWM is the peak of this process's own memory.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="number of returned workbooks")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for check and calamine")
    ap.add_argument("--pandas-sample", type=int, default=100, help="files read with pandas (extrapolated)")
    ap.add_argument("--dir", type=Path, default=None, help="folder of the returns (kept; default: a temp dir)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of check and calamine; the best counts")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    ap.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.rss_child:
        _rss_child(args.rss_child, args.jobs)
        return 0

    folder = args.dir or Path(tempfile.gettempdir()) / f"cchc-bench-check-{args.n}-{_code_version()}"
    files = make_returns(folder, args.n, args.jobs)
    files = [f for f in find_files([folder]) if Path(f).name.startswith("xa-")][:args.n]
    n = len(files)
    size_kb = sum(os.path.getsize(f) for f in files) / n / 1024

    check_s, report = min((time_check(files, args.jobs) for _ in range(args.repeat)), key=lambda t: t[0])
    calamine_s = min(time_calamine(files, args.jobs) for _ in range(args.repeat))
    sample = files[:min(args.pandas_sample, n)]
    pandas_s = time_pandas(sample) * n / len(sample)

    summary = report.summary()
    check_fps, calamine_fps, pandas_fps = n / check_s, n / calamine_s, n / pandas_s
    vs_pandas, vs_calamine = pandas_s / check_s, check_s / calamine_s
    print(f"{n} returned workbooks ({size_kb:.0f} KB each) in {folder}, {args.jobs} processes, "
          f"{os.cpu_count()} CPUs")
    print(f"  statuses: {summary['ok']} ok, {summary['warnings']} warnings, {summary['errors']} errors, "
          f"{summary['unreadable']} unreadable")
    print(f"  check_paths ({args.jobs} processes)        {check_s:7.2f} s  {check_fps:7.0f} files/s"
          f"   goal >= {GOAL_FILES_PER_S}: {'met' if check_fps >= GOAL_FILES_PER_S else 'NOT met'}")
    print(f"  calamine alone ({args.jobs} processes)     {calamine_s:7.2f} s  {calamine_fps:7.0f} files/s"
          f"   check / calamine = {vs_calamine:.2f}x (goal <= {GOAL_VS_CALAMINE}x: "
          f"{'met' if vs_calamine <= GOAL_VS_CALAMINE else 'NOT met'})")
    print(f"  pandas.read_excel (1 process)    {pandas_s:7.2f} s  {pandas_fps:7.0f} files/s"
          f"   extrapolated from {len(sample)} files; check is {vs_pandas:.0f}x faster "
          f"(goal >= {GOAL_VS_PANDAS}x: {'met' if vs_pandas >= GOAL_VS_PANDAS else 'NOT met'}; "
          f"{vs_pandas / args.jobs:.0f}x per process)")
    if not args.no_memory:
        small = max(1, n // 5)
        big_rss, small_rss = peak_rss(files, args.jobs), peak_rss(files[:small], args.jobs)
        print(f"  peak RSS, main process / largest worker: {n} files {big_rss['main_mb']:.0f} / "
              f"{big_rss['worker_mb']:.0f} MB, {small} files {small_rss['main_mb']:.0f} / "
              f"{small_rss['worker_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
