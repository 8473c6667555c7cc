"""Benchmark of feedback at the speed of checking and memory flat in the number of returns: one table.

    python benchmarks/bench_speed.py                  # 1,000 and 10,000 returns (minutes)
    python benchmarks/bench_speed.py --sizes 1000     # quicker
    python benchmarks/bench_speed.py --sizes 10000 --only check-json,aggregate   # chosen rows only

Makes N returns of N distinct made-up wards (`bench_aggregate.make_returns`: one template cloned by
rewriting its value cells), 30% of them with a finding (an error: part > whole in BM7-2.4), then runs each
command as a user would, in a fresh process (`python -m cchc_excel ...`, 2 worker processes), timed from
outside, its own peak memory (VmHWM) and its largest worker's read inside. Prints every row of the goals'
table, measured side by side in one run: ratios count, absolute times are context.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import bench_aggregate  # noqa: E402
from bench_check import _own_peak_mb, time_calamine  # noqa: E402

JOBS = 2
# Byte code cached as an installed package has it (this machine sets PYTHONDONTWRITEBYTECODE), kept out
# of the source tree; otherwise every start would compile every module it imports.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "bench-speed-pycache")
_CLEAN_VALUES = bench_aggregate.values_of


def values_with_findings(i: int, spec) -> dict:
    """`bench_aggregate.values_of`, three files in ten with an error (more dossiers done on time than done)."""
    values = _CLEAN_VALUES(i, spec)
    if i % 10 < 3:
        values["BM7-2.4.2"] = values["BM7-2.4.1"] + 1
    return values


def make_returns(folder: Path, n: int) -> Path:
    """N returns in `folder` and `roster-N.csv` beside it; the roster's path."""
    bench_aggregate.values_of = values_with_findings
    try:  # the workers are forked: they see the replaced function
        bench_aggregate.make_returns(folder, n, JOBS)
    finally:
        bench_aggregate.values_of = _CLEAN_VALUES
    return folder.parent / f"roster-{n}.csv"


# --------------------------------------------------------------------------------------------- one command

def run(args: list, cwd: Path) -> dict:
    """`cchc ARGS` in a fresh process: wall seconds, its peak memory and its largest worker's (MB)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(args)], cwd=cwd,
                          capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - start
    lines = [line for line in proc.stderr.splitlines() if line.startswith("{\"bench\"")]
    if not lines:
        raise RuntimeError(f"cchc {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    out = json.loads(lines[-1])
    out["s"] = wall
    return out


def _child(args: list) -> None:
    """Run the command line in this process, stdout to /dev/null; then print the memory on stderr."""
    sys.argv = ["cchc", *args]
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    code = 0
    try:
        runpy.run_module("cchc_excel", run_name="__main__")
    except SystemExit as e:
        code = e.code
    sys.stdout.flush()
    print(json.dumps({"bench": 1, "code": code, "main_mb": _own_peak_mb(),
                      "worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}),
          file=sys.stderr)


def best(args: list, cwd: Path, repeat: int) -> dict:
    runs = [run(args, cwd) for _ in range(repeat)]
    return min(runs, key=lambda r: r["s"])


# --------------------------------------------------------------------------------------------- the rows

# The rows --only can choose, and the commands each one needs measured.
ROWS = {"check-feedback": ("feedback", "json"), "check-json": ("json",), "calamine": ("json", "calamine"),
        "aggregate": ("aggregate", "json"), "check-text": ("text",), "start": (), "distribute": ()}


def measure_size(n: int, tmp: Path, repeat: int, only: frozenset | None = None) -> dict:
    """The commands of one size; with `only`, those the chosen rows need."""
    folder = tmp / f"returns-{n}"
    roster = make_returns(folder, n)
    files = sorted(str(p) for p in folder.glob("*.xlsx"))
    j = ["-j", str(JOBS)]
    out = {"n": n}
    need = {m for row in (only or ROWS) for m in ROWS[row]}
    run(["check", files[0]], tmp)  # warm-up: byte code written, the reader's first imports paid
    if "json" in need:
        out["json"] = best(["check", str(folder), "--json", *j], tmp, repeat)
    if "feedback" in need:
        out["feedback"] = best(["check", str(folder), "--json", "--feedback", str(tmp / f"fb-{n}"), *j], tmp,
                               repeat)
        out["feedback_files"] = len(list((tmp / f"fb-{n}").glob("*.xlsx")))
    if "text" in need:
        out["text"] = best(["check", str(folder), *j], tmp, 1)
    if "aggregate" in need:
        out["aggregate"] = best(["aggregate", str(folder), "--roster", str(roster), "--period", "2023-Q2",
                                 "-o", str(tmp / f"out-{n}.xlsx"), *j], tmp, repeat)
    if "calamine" in need:
        out["calamine"] = min(time_calamine(files, JOBS) for _ in range(repeat))
    return out


def measure_start(tmp: Path, one: Path, repeat: int) -> dict:
    def cold(args):
        times = []
        for _ in range(repeat + 1):  # the first writes the byte code
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "cchc_excel", *args], cwd=tmp, capture_output=True, env=ENV)
            times.append(time.perf_counter() - start)
        return min(times[1:])

    return {"help": cold(["--help"]), "check_one": cold(["check", str(one)])}


def measure_mail(tmp: Path, units: int, repeat: int) -> dict:
    lines = ["ma_don_vi,ten_don_vi,cap,don_vi_cha,email", "TB,UBND tỉnh Thử Nghiệm,tinh,,tinh@example.gov.vn"]
    lines += [f"X{i:05d},UBND xã Thử Nghiệm {i},xa,TB,xa{i}@example.gov.vn" for i in range(units)]
    roster = tmp / "mail-roster.csv"
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    common = ["--roster", str(roster), "--period", "2023-Q2"]
    template, distribute = [], []
    for _ in range(repeat):  # one after the other, so that both meet the same load of the machine
        template.append(run(["template", *common, "-o", str(tmp / "bieu-mau") + "/"], tmp)["s"])
        distribute.append(run(["distribute", *common, "--outbox", str(tmp / "thu-gui"),
                               "--from", "Phòng Nội vụ <noivu@example.gov.vn>"], tmp)["s"])
    return {"template": min(template), "distribute": min(distribute),
            "eml": len(list((tmp / "thu-gui").glob("*.eml")))}


def table(sizes: list, start: dict, mail: dict) -> list:
    """(measure, figure, goal, met) rows."""
    rows = []
    by_n = {s["n"]: s for s in sizes}
    for s in (s for s in sizes if "feedback" in s):
        n = f"{s['n']:,}"
        r = s["feedback"]["s"] / s["json"]["s"]
        rows.append((f"check --feedback ÷ check --json at {n} ({s['feedback_files']} feedback files)", f"{r:.2f}",
                     "≤ 1.5", r <= 1.5))
    for s in (s for s in sizes if "calamine" in s):
        r = s["json"]["s"] / s["calamine"]
        rows.append((f"check --json ÷ calamine alone (2 processes) at {s['n']:,}", f"{r:.2f}", "≤ 1.5", r <= 1.5))
    for s in (s for s in sizes if "aggregate" in s):
        r = s["aggregate"]["s"] / s["json"]["s"]
        rows.append((f"aggregate ÷ check --json at {s['n']:,}", f"{r:.2f}", "≤ 1.2 at 10,000", r <= 1.2))
    small, large = min(by_n), max(by_n)
    for what in (w for w in ("json", "text", "feedback", "aggregate") if w in by_n[small]):
        a, b = by_n[small][what]["main_mb"], by_n[large][what]["main_mb"]
        label = {"json": "check --json", "text": "check", "feedback": "check --feedback",
                 "aggregate": "aggregate"}[what]
        rows.append((f"peak RSS of the main process, {label}: {large:,} vs {small:,}",
                     f"{b:.0f} / {a:.0f} MB = {b / a:.2f}x", "≤ 1.3x, ≤ 100 MB", b / a <= 1.3 and b <= 100))
    for what, label in ((w, l) for w, l in (("json", "check"), ("aggregate", "aggregate")) if w in by_n[small]):
        mb = max(s[what]["worker_mb"] for s in sizes)
        rows.append((f"largest worker, {label}", f"{mb:.0f} MB", "≤ 40 MB", mb <= 40))
    if start:
        r = start["check_one"] / start["help"]
        rows.append(("cchc check ONE.xlsx ÷ cchc --help (cold start)",
                     f"{r:.2f} ({start['check_one'] * 1000:.0f} / {start['help'] * 1000:.0f} ms)", "≤ 1.3",
                     r <= 1.3))
    if mail:
        r = mail["distribute"] / mail["template"]
        rows.append((f"distribute of {mail['eml']:,} units to .eml ÷ template --roster",
                     f"{r:.2f} ({mail['distribute']:.1f} / {mail['template']:.1f} s)", "≤ 1.5", r <= 1.5))
    return rows


def _rows(text: str) -> frozenset:
    rows = frozenset(r.strip() for r in text.split(",") if r.strip())
    unknown = rows - set(ROWS)
    if unknown or not rows:
        raise argparse.ArgumentTypeError(f"unknown rows {', '.join(sorted(unknown))}; rows: {', '.join(ROWS)}")
    return rows


def _print_size(s: dict) -> None:
    """One size's figures, as soon as measured (on stderr)."""
    names = {"json": "check --json", "text": "check", "feedback": "--feedback", "aggregate": "aggregate"}
    times = [f"{label} {s[w]['s']:.1f} s" for w, label in names.items() if w in s]
    times += [f"calamine {s['calamine']:.1f} s"] if "calamine" in s else []
    if not times:
        return  # only the cold start or distribute asked for: the returns were made, not measured
    mains = [f"{w} {s[w]['main_mb']:.0f}" for w in names if w in s]
    workers = [f"{label} {s[w]['worker_mb']:.0f}" for w, label in (("json", "check"), ("aggregate", "aggregate"))
               if w in s]
    print(f"{s['n']:,} returns: {', '.join(times)}; main process (MB): {', '.join(mains)}; "
          f"largest worker (MB): {', '.join(workers)}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--repeat", type=int, default=1, help="timed runs of each command; the best counts")
    ap.add_argument("--units", type=int, default=1000, help="units for distribute and template --roster")
    ap.add_argument("--only", type=_rows, default=None,
                    help=f"comma-separated rows to measure, of: {', '.join(ROWS)} (default: every row)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(json.loads(args.child))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        tmp = Path(tmp)
        sizes = []
        for n in args.sizes:
            sizes.append(measure_size(n, tmp, args.repeat, args.only))
            _print_size(sizes[-1])
        one = next((tmp / f"returns-{args.sizes[0]}").glob("*.xlsx"))
        start = measure_start(tmp, one, max(3, args.repeat)) if not args.only or "start" in args.only else {}
        mail = measure_mail(tmp, args.units, args.repeat) if not args.only or "distribute" in args.only else {}
    rows = table(sizes, start, mail)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'figure':<28} {'goal':<18} met")
    for measure, figure, goal, met in rows:
        print(f"{measure.ljust(width)}  {figure:<28} {goal:<18} {'yes' if met else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
