"""The local cloud's CPU accounting: threads a function's cold start leaves running
(ONNX Runtime's pool, the OCR line pool) are that function's CPU, not the cloud's."""

from __future__ import annotations

import threading
import time

from infra.localcloud.lambdas import WorkerThreads, _thread_ids


def _burn(seconds: float, started: threading.Event, release: threading.Event) -> None:
    started.set()
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
    release.wait(5)


def test_a_worker_threads_cpu_counts_for_the_function_that_started_it() -> None:
    workers = WorkerThreads()
    before = _thread_ids()
    started, release = threading.Event(), threading.Event()
    thread = threading.Thread(target=_burn, args=(0.3, started, release))
    thread.start()
    started.wait(5)
    workers.adopt("OcrValidateFunction", _thread_ids() - before)
    time.sleep(0.05)
    while thread.is_alive() and workers.cpu_by_function().get("OcrValidateFunction", 0) < 0.25:
        time.sleep(0.02)  # the thread is still burning its 0.3 s

    assert workers.cpu_by_function()["OcrValidateFunction"] >= 0.25
    release.set()
    thread.join(5)
    # An ended thread keeps its last reading: CPU already spent is not taken back.
    assert workers.cpu_by_function()["OcrValidateFunction"] >= 0.25


def test_a_thread_is_counted_once_to_its_first_owner() -> None:
    workers = WorkerThreads()
    tid = threading.get_native_id()
    workers.adopt("ApiFunction", {tid})
    workers.adopt("ScoreFunction", {tid})

    usage = workers.cpu_by_function()
    assert set(usage) == {"ApiFunction"}
    assert usage["ApiFunction"] > 0
