"""Running one pure computation in a second process, on a second core.

Used where one command's CPU-bound work splits into independent halves (the re-run of the
rules in `drift` and `check`): the half given to `start_forked` runs in a child made by
fork(), which shares the caller's memory as it was (rule packs, architecture, facts) at no
copying cost, and hands its result back pickled through a pipe. Python threads would not
help: the rules are Python code and hold the interpreter lock.

A forked child is used only where it is safe and can pay off: on POSIX, with more than one
core available, and with no other thread running (a child gets only the forking thread,
and a lock another thread held would stay locked in it). Otherwise, and whenever the child
fails in any way (an exception, a kill, a result that cannot be read), the job runs in the
calling process instead: the result is the same either way, only the time differs.
THREATLINE_PARALLEL=0 turns the child off.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_OK, _FAILED = b"ok", b"failed"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def can_fork() -> bool:
    return (
        hasattr(os, "fork")
        and os.environ.get("THREATLINE_PARALLEL", "1") != "0"
        and _cores() > 1
        and threading.active_count() == 1
    )


def start_forked(job: Callable[[], T]) -> Callable[[], T]:
    """Start `job` in a forked child; the function returned waits for its result. When no
    child can be used, the returned function runs `job` itself."""
    if not can_fork():
        return job
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return job
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return job
    if pid == 0:  # the child: compute, send, and leave without running the parent's exit code
        status = 1
        try:
            os.close(read_end)
            try:
                payload = _OK + pickle.dumps(job(), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:  # any failure: the parent runs the job itself
                payload = _FAILED
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)

    def result() -> T:
        with os.fdopen(read_end, "rb") as pipe:
            payload = pipe.read()
        os.waitpid(pid, 0)
        if payload.startswith(_OK):
            try:
                found: Any = pickle.loads(payload[len(_OK):])
            except Exception:  # a truncated or unreadable result
                return job()
            return found  # type: ignore[no-any-return]
        return job()

    return result
