"""The second process `drift` and `check` use for half of a large re-run (threatline.parallel):
its result is the job's result, and any failure falls back to running the job here."""

from __future__ import annotations

import os
import signal

import pytest

from threatline import parallel

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX only")


@pytest.fixture(autouse=True)
def two_cores(monkeypatch):
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    monkeypatch.delenv("THREATLINE_PARALLEL", raising=False)


def test_the_job_runs_in_a_child_and_its_result_comes_back():
    parent = os.getpid()
    result = parallel.start_forked(lambda: {"pid": os.getpid(), "rows": [("a", 1)] * 50_000})
    found = result()
    assert found["pid"] != parent  # computed in another process
    assert found["rows"] == [("a", 1)] * 50_000  # larger than a pipe's buffer, read whole


def test_an_exception_in_the_child_runs_the_job_here():
    parent = os.getpid()

    def job():
        if os.getpid() != parent:
            raise RuntimeError("only in the child")
        return "computed here"

    assert parallel.start_forked(job)() == "computed here"


def test_a_killed_child_runs_the_job_here():
    parent = os.getpid()

    def job():
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return "computed here"

    assert parallel.start_forked(job)() == "computed here"


def test_a_result_that_cannot_be_pickled_runs_the_job_here():
    parent = os.getpid()

    def job():
        return (lambda: None) if os.getpid() != parent else "computed here"

    assert parallel.start_forked(job)() == "computed here"


def test_no_child_when_turned_off_or_on_one_core(monkeypatch):
    parent = os.getpid()
    monkeypatch.setenv("THREATLINE_PARALLEL", "0")
    assert parallel.start_forked(os.getpid)() == parent
    monkeypatch.delenv("THREATLINE_PARALLEL")
    monkeypatch.setattr(parallel, "_cores", lambda: 1)
    assert parallel.start_forked(os.getpid)() == parent


def test_no_child_while_another_thread_runs():
    import threading

    parent = os.getpid()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert parallel.start_forked(os.getpid)() == parent
    finally:
        stop.set()
        other.join()
