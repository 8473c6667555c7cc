"""A ceiling on the memory a worker process may take, so that no returned file, whatever it holds, can take
a run past a few hundred MB: an allocation over it fails (`MemoryError` in Python, or the process ends), the
file is refused as too large and the pool replaces the worker.

It is the soft `RLIMIT_DATA` (heap and private mappings: what parsing a file allocates; shared libraries
and the address space reserved for threads do not count). Where the system has no such limit (Windows)
nothing is set: the gate's limits on sizes and cells still hold there.
"""

from __future__ import annotations

try:
    import resource
except ImportError:  # Windows
    resource = None

WORKER_DATA_LIMIT = 640 << 20  # bytes: a worker reading one return needs about 35 MB


def limit_worker_memory(limit: int = WORKER_DATA_LIMIT) -> bool:
    """Let this process allocate at most `limit` more bytes of data than it holds now (a forked worker
    inherits its parent's heap, which counts against the limit too); never raise a limit. Whether a limit
    is in force."""
    if resource is None or not hasattr(resource, "RLIMIT_DATA"):
        return False
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit += _data_in_use()
    wanted = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    if soft == resource.RLIM_INFINITY or soft > wanted:
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))
        except (ValueError, OSError):  # a container that refuses: the gate's limits still hold
            return False
    return True


def lift_for_child() -> None:
    """For `subprocess.Popen(preexec_fn=...)`: a program a worker starts (LibreOffice converting a .doc)
    gets the usual limit back (the soft limit was lowered, the hard one never)."""
    if resource is not None and hasattr(resource, "RLIMIT_DATA"):
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))


def _data_in_use() -> int:
    """Bytes of data this process holds (Linux's VmData), 0 where it cannot be told."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
