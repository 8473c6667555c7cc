"""The sample quarter in a workspace, as the page would hold it (`make demo`, through `run_quarter.sh`):
the sample roster, the period 2023-Q2 and every sample return received from its folder.

    python samples/demo_workspace.py SAMPLES_DIR WORKSPACE_DIR

Open it in the page with `cchc serve --workspace WORKSPACE_DIR`."""

import sys
from pathlib import Path

from cchc_excel.workspace import Workspace, views

PERIOD = "2023-Q2"


def main(samples: Path, folder: Path) -> int:
    ws = Workspace(folder)
    ws.put_roster((samples / "roster.csv").read_bytes(), "roster.csv", who="make demo")
    got = ws.receive_folder(PERIOD, samples / "returns", who="make demo")
    for problem in got["problems"]:
        print(f"  {problem}")
    status = views.status(ws, PERIOD, ws.own_unit())
    counts = status["units"]
    print(f"Thư mục làm việc {folder}: {len(got['files'])} tệp đã nhận cho kỳ {PERIOD}, đơn vị của trang "
          f"{ws.own_unit()}: {counts['received']}/{counts['expected']} đơn vị đã nộp.")
    return 1 if got["problems"] else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
