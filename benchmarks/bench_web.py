"""Benchmark of the page (`cchc serve`) against the command line, measured side by side in one run.

    python benchmarks/bench_web.py              # 1,000 returns
    python benchmarks/bench_web.py --n 200      # quicker

Makes N returns of N made-up wards (`bench_speed.make_returns`, three in ten with an error) and one zip of
them, then times, in this process and warm (each measured after one run that is not counted, the best of
a few runs taken in turn):

1. the zip uploaded through the application (Flask's test client: the same code waitress runs) against
   `check_paths` of the same zip, as `cchc check` reads it (a zip is read in one process); goal: the
   upload processes returns at >= 80% of check's rate;
2. the status page of the N units against the JSON status of the same subtree; goal: <= 3x;
3. one return uploaded against the warm `check` of that file; goal: <= 2x.

Prints the figures and the ratios; absolute times are context.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import bench_speed  # noqa: E402

PERIOD = "2023-Q2"


def timed(fn, repeat: int = 1) -> float:
    """The best wall seconds of `repeat` runs of `fn()`."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def zip_of(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:  # the returns are zips themselves
        for p in sorted(folder.iterdir()):
            z.write(p, p.name)
    return buf.getvalue()


def client_of(folder: Path, roster: Path):
    from cchc_excel.web import create_app

    app = create_app(folder, max_file=2**31, max_request=2**31)
    client = app.test_client()
    r = client.put("/api/roster", data={"file": (io.BytesIO(roster.read_bytes()), "roster.csv")},
                   content_type="multipart/form-data")
    assert r.status_code == 200, r.get_data(as_text=True)
    return client


def post(client, name: str, data: bytes) -> dict:
    r = client.post(f"/api/periods/{PERIOD}/files", data={"files": [(io.BytesIO(data), name)]},
                    content_type="multipart/form-data")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return r.json


def bench(n: int, tmp: Path) -> list[tuple[str, float, float, float]]:
    from cchc_excel.check.run import check_paths
    from cchc_excel.core.roster import load_roster

    returns = tmp / "returns"
    roster_path = bench_speed.make_returns(returns, n)
    roster = load_roster(roster_path)
    archive = tmp / "returns.zip"
    archive.write_bytes(zip_of(returns))
    one = sorted(returns.iterdir())[0]

    def check_zip():
        assert len(check_paths([archive], roster=roster, period=PERIOD, jobs=1).files) == n

    check_zip()  # warm: the spec, the readers, the caches
    warm = client_of(tmp / "ws-warm", roster_path)
    post(warm, one.name, one.read_bytes())
    client = client_of(tmp / "ws", roster_path)
    data = archive.read_bytes()
    t_check = t_upload = float("inf")
    for _ in range(2):  # side by side, in turn: the machine's other load falls on both alike
        t_check = min(t_check, timed(check_zip))
        t_upload = min(t_upload, timed(lambda: post(client, archive.name, data)))
    rows = [("upload of the zip vs check of it (rate)", t_upload, t_check, t_check / t_upload)]

    def page():
        r = client.get(f"/periods/{PERIOD}/status")
        assert r.status_code == 200 and r.get_data().count(b"<tr class=") >= n

    def status_json():
        assert client.get(f"/api/periods/{PERIOD}/status").status_code == 200

    page(), status_json()
    t_page, t_json = timed(page, 3), timed(status_json, 3)
    rows.append(("status page vs JSON status (time)", t_page, t_json, t_page / t_json))

    one_data = one.read_bytes()
    t_one_check = timed(lambda: check_paths([one], roster=roster, period=PERIOD, jobs=1), 5)
    t_one_upload = timed(lambda: post(warm, one.name, one_data), 5)
    rows.append(("one upload vs warm check (time)", t_one_upload, t_one_check, t_one_upload / t_one_check))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        rows = bench(args.n, Path(tmp))
    goals = {"upload of the zip vs check of it (rate)": ">= 0.80", "status page vs JSON status (time)": "<= 3",
             "one upload vs warm check (time)": "<= 2"}
    print(f"{args.n} returns")
    print(f"{'measure':<42} {'page s':>9} {'cli/json s':>11} {'ratio':>7}  goal")
    for name, a, b, ratio in rows:
        print(f"{name:<42} {a:>9.3f} {b:>11.3f} {ratio:>7.2f}  {goals[name]}")


if __name__ == "__main__":
    main()
