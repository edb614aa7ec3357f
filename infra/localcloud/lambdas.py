"""Run the functions' own handlers in-process when moto invokes a Lambda.

`LambdaFunction._invoke_lambda` is the single method where moto would start a Docker
container; it is private, so tests/integration/test_localcloud.py keeps a smoke
test on it.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.awslambda.models import LambdaFunction

from infra.localcloud import serialise
from lending.aws import wiring

Handler = Callable[[Any, Any], Any]
_DEBUG = os.environ.get("LOCALCLOUD_DEBUG") == "1"
log = logging.getLogger("localcloud.lambda")

# The logical id of the function whose handler runs in this thread (a context variable:
# new threads, such as moto's state machine runner, the banks and the tests, start
# without one), so the AWS calls a handler makes are attributed to its function.
_running: ContextVar[str | None] = ContextVar("localcloud_running_function", default=None)


def running_function() -> str | None:
    return _running.get()


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that Powertools and handlers read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str  # "module.attribute"
    memory_mb: int = 512
    _loaded: Handler | None = None

    def load(self) -> Handler:
        if self._loaded is None:
            module_name, attribute = self.handler.rsplit(".", 1)
            module = _import_file(
                f"functions_{self.code_dir.name}_{module_name}", self.code_dir / f"{module_name}.py"
            )
            self._loaded = getattr(module, attribute)
        return self._loaded


_import_lock = threading.Lock()


def _import_file(name: str, path: Path) -> ModuleType:
    with _import_lock:
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module


@dataclass
class Usage:
    """What a function's invocations took: wall seconds, the handler thread's CPU
    seconds, and the CPU seconds of the threads its first invocation (its cold start)
    left running: ONNX Runtime's intra-op pool, the OCR recogniser's line pool."""

    invocations: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    worker_cpu_seconds: float = 0.0


_TICKS: float = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0


def _thread_ids() -> set[int]:
    try:
        return {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:  # not Linux: worker threads go unattributed
        return set()


def _thread_cpu(tid: int) -> float | None:
    """A thread's user + system CPU seconds (10 ms resolution), None once it ended."""
    try:
        stat = Path(f"/proc/self/task/{tid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS


class WorkerThreads:
    """Threads a function started at its cold start, and their CPU so far. A thread
    another function or moto started in the same moment would be counted too; those
    are short-lived request threads, and an ended thread keeps its last reading."""

    def __init__(self) -> None:
        self._owner: dict[int, str] = {}
        self._last: dict[int, float] = {}

    def adopt(self, logical_id: str, tids: set[int]) -> None:
        for tid in tids:
            self._owner.setdefault(tid, logical_id)

    def cpu_by_function(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for tid, owner in self._owner.items():
            now = _thread_cpu(tid)
            if now is not None:
                self._last[tid] = now
            out[owner] = out.get(owner, 0.0) + self._last.get(tid, 0.0)
        return out


class LambdaRegistry:
    """Function name -> the handler it runs; installed into moto once per process."""

    def __init__(self) -> None:
        self.functions: dict[str, FunctionSpec] = {}
        self.invocations: dict[str, int] = {}
        self.usage: dict[str, Usage] = {}
        self._usage_lock = threading.Lock()
        self._workers = WorkerThreads()

    def usage_snapshot(self) -> dict[str, Usage]:
        with self._usage_lock:
            workers = self._workers.cpu_by_function()
            return {
                k: Usage(u.invocations, u.wall_seconds, u.cpu_seconds, workers.get(k, 0.0))
                for k, u in self.usage.items()
            }

    def add(self, spec: FunctionSpec) -> None:
        self.functions[spec.name] = spec

    def invoke(self, name: str, event: Any) -> tuple[str, bool, str]:
        spec = self.functions.get(name)
        if spec is None:
            return json.dumps({"errorType": "ResourceNotFound", "errorMessage": name}), True, ""
        cold = spec.logical_id not in self.invocations
        threads_before = _thread_ids() if cold else set()
        self.invocations[spec.logical_id] = self.invocations.get(spec.logical_id, 0) + 1
        context = LambdaContext(spec.name, spec.arn, spec.memory_mb)
        running = _running.set(spec.logical_id)
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            payload = json.loads(event) if isinstance(event, str | bytes) else event
            # Its own adapters, as its own process in AWS would build (its cold start).
            with serialise.released(), wiring.scope(spec.logical_id):
                result = spec.load()(payload, context)
            return json.dumps(result), False, ""
        except Exception as exc:  # the Lambda runtime's contract: report, don't raise
            # Type only: a message may carry data we must not log. LOCALCLOUD_DEBUG=1 shows all.
            log.warning(
                "function %s raised %s", spec.logical_id, type(exc).__name__, exc_info=_DEBUG
            )
            body = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            return json.dumps(body), True, ""
        finally:
            _running.reset(running)
            self._account(spec.logical_id, time.perf_counter() - wall, time.thread_time() - cpu)
            if cold:
                with self._usage_lock:
                    self._workers.adopt(spec.logical_id, _thread_ids() - threads_before)

    def _account(self, logical_id: str, wall: float, cpu: float) -> None:
        with self._usage_lock:
            usage = self.usage.setdefault(logical_id, Usage())
            usage.invocations += 1
            usage.wall_seconds += wall
            usage.cpu_seconds += cpu


_active: LambdaRegistry | None = None
_original_invoke = LambdaFunction._invoke_lambda


def install(registry: LambdaRegistry) -> None:
    global _active
    _active = registry
    serialise.install()

    def invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        if _active is None:
            return _original_invoke(self, event)
        return _active.invoke(self.function_name, event)

    LambdaFunction._invoke_lambda = invoke_in_process  # type: ignore[method-assign]


def uninstall() -> None:
    global _active
    _active = None
