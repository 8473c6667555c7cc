"""A worker process has a memory ceiling: a file whose reading would take more is refused as too large, the
other files of the run are checked as usual, and the main process keeps no such limit."""

import multiprocessing
import resource
import sys

import pytest

from cchc_excel.check import run as check_run
from cchc_excel.core.memory import WORKER_DATA_LIMIT, lift_for_child, limit_worker_memory
from cchc_excel.core.roster import Unit
from cchc_excel.spec.loader import load_spec
from cchc_excel.template.build import template_bytes

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_DATA and fork: Linux")


def _limit_in_child(queue):
    from cchc_excel.core.memory import _data_in_use

    held = _data_in_use()
    limited = limit_worker_memory()
    queue.put((limited, WORKER_DATA_LIMIT + held - (64 << 20) <= resource.getrlimit(resource.RLIMIT_DATA)[0]
               <= WORKER_DATA_LIMIT + held + (64 << 20)))
    try:
        bytearray(WORKER_DATA_LIMIT + (128 << 20))
        queue.put("allocated")
    except MemoryError:
        queue.put("MemoryError")
    lift_for_child()
    queue.put(resource.getrlimit(resource.RLIMIT_DATA)[0])


def test_the_ceiling_stops_an_allocation_and_is_lifted_for_a_child_program():
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_limit_in_child, args=(queue,))
    child.start()
    child.join(60)
    assert queue.get(timeout=5) == (True, True)  # the ceiling: what it held, and WORKER_DATA_LIMIT more
    assert queue.get(timeout=5) == "MemoryError"
    assert queue.get(timeout=5) == resource.getrlimit(resource.RLIMIT_DATA)[1]


def test_a_file_over_the_ceiling_is_refused_as_too_large_and_the_others_are_checked(tmp_path, monkeypatch):
    spec = load_spec()
    for i in range(check_run.PARALLEL_MIN_FILES + 6):  # enough files for the worker pool
        data = template_bytes(spec, level="xa", unit=Unit(f"X{i:03d}", f"UBND xã Số {i}", "xa"), period="2023-Q2",
                              values={"BM3-3.1.1": 10 + i, "BM3-3.1.2": 10})
        (tmp_path / f"{i:03d}.xlsx").write_bytes(data)
    read = check_run._read_workbook

    def greedy(path, *args, **kwargs):  # a file whose parsing wants far more than a worker may take
        if path.name == "007.xlsx":
            bytearray(WORKER_DATA_LIMIT * 2)
        return read(path, *args, **kwargs)

    monkeypatch.setattr(check_run, "_read_workbook", greedy)  # the workers are forked: they see it
    before = resource.getrlimit(resource.RLIMIT_DATA)
    report = check_run.check_paths([tmp_path], spec, jobs=2)
    assert resource.getrlimit(resource.RLIMIT_DATA) == before  # the ceiling is the workers', not ours
    by_name = {f.path.rsplit("/", 1)[-1]: f for f in report.files}
    assert by_name["007.xlsx"].status == "unreadable"
    assert "quá lớn" in by_name["007.xlsx"].issues[0].message
    assert all(f.status != "unreadable" for name, f in by_name.items() if name != "007.xlsx")
    assert len(by_name) == check_run.PARALLEL_MIN_FILES + 6
