"""Compiling, checking and running rules ("spelregels als code").

A rule is a CEL expression over ``subject``: the subject's representation as its owner serves it
(references the rule reads beyond ``href`` expanded one level). True means the subject complies.

- On save a rule is compiled: a syntax error, or a function CEL does not have, is a 422 naming the
  position (line:column). It is then run against a representative subject of every kind it applies
  to, which catches misspelt fields and type errors that only show when evaluated.
- Rules run in a separate worker process (``worker.py``): the CEL interpreter holds the interpreter
  lock while it runs, so a thread could not be stopped and would stall every request. Each
  evaluation has a wall-clock budget (``IV_PRINCIPLES_RULE_TIMEOUT_SECONDS``, default 1 s); a rule that
  overruns it is stopped (the worker is killed and restarted) and yields an ``error`` outcome. The
  worker's memory is capped (``IV_PRINCIPLES_RULE_MEMORY_MB``), the expression is at most 4,000
  characters and the subject at most ``IV_PRINCIPLES_RULE_MAX_SUBJECT_BYTES`` of JSON.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import re
import select
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric

from services.chassis.errors import ValidationProblem
from services.principles.settings import PrinciplesSettings

WORKER = Path(__file__).with_name("worker.py")
MAX_RULE_LENGTH = 4000
BATCH = 200
STARTUP_SECONDS = 30.0

# The functions of CEL's standard library that this interpreter provides (macros such as has, all,
# exists, exists_one, map and filter are not functions and need no entry).
KNOWN_FUNCTIONS = frozenset(
    {
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "string",
        "int",
        "uint",
        "double",
        "bytes",
        "timestamp",
        "duration",
        "type",
        "dyn",
        "getFullYear",
        "getMonth",
        "getDayOfYear",
        "getDayOfMonth",
        "getDate",
        "getDayOfWeek",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
    }
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_SYNTAX = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")


@dataclass(frozen=True)
class RuleResult:
    """A rule's verdict on one subject: ``value`` (true = complies), or ``error`` when it could not judge."""

    value: bool | None = None
    error: str | None = None


# --- checks on save ------------------------------------------------------------------------------


def _mask_strings(source: str) -> str:
    """The source with string literals blanked, so names inside strings are not found."""
    out = []
    quote: str | None = None
    escaped = False
    for ch in source:
        if quote is None:
            if ch in ("'", '"'):
                quote = ch
            out.append(ch)
            continue
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == quote:
            quote = None
            out.append(ch)
            continue
        out.append(" " if ch != "\n" else "\n")
    return "".join(out)


def position(source: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset."""
    before = source[:offset]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1
    return line, column


def locate(source: str, pattern: str) -> tuple[int, int] | None:
    match = re.search(pattern, _mask_strings(source))
    return position(source, match.start(1) if match.groups() else match.start()) if match else None


def _error(
    message: str, type_: str, where: tuple[int, int] | None, loc: Sequence[str | int] = ("body", "rule")
) -> dict[str, Any]:
    error: dict[str, Any] = {"loc": list(loc), "msg": message, "type": type_}
    if where is not None:
        error["msg"] = f"{where[0]}:{where[1]}: {message}"
        error["line"], error["column"] = where
    return error


def syntax_errors(source: str, loc: Sequence[str | int] = ("body", "rule")) -> list[dict[str, Any]]:
    """Compile ``source``: syntax errors and unknown functions, each with its line:column."""
    # Imported here: the ``cel`` package imports its command line (and prompt_toolkit) with it,
    # which is a good part of every principles process's start for something only writes need.
    import cel

    try:
        program = cel.compile(source)
    except ValueError as exc:
        found = [
            _error(m.group(3).removeprefix("Syntax error: ").strip(), "rule_syntax", (int(m[1]), int(m[2])), loc)
            for m in _SYNTAX.finditer(str(exc))
        ]
        return found or [_error(f"not a valid CEL expression: {exc}", "rule_syntax", None, loc)]
    except Exception as exc:  # noqa: BLE001 - the compiler's other failures are still the rule's fault
        return [_error(f"not a valid CEL expression: {exc}", "rule_syntax", None, loc)]
    errors = []
    for name in program.functions():
        if _IDENTIFIER.fullmatch(name) and name not in KNOWN_FUNCTIONS:
            where = locate(source, rf"(?<![A-Za-z0-9_]){re.escape(name)}\s*\(")
            errors.append(_error(f"unknown function {name!r}", "rule_unknown_function", where, loc))
    return errors


def check_syntax(source: str, loc: Sequence[str | int] = ("body", "rule")) -> None:
    errors = syntax_errors(source, loc)
    if errors:
        raise ValidationProblem("the rule does not compile: " + "; ".join(e["msg"] for e in errors), errors=errors)


def _locate_failure(source: str, message: str) -> tuple[int, int] | None:
    undefined = re.search(r"Undefined variable or function: '([^']+)'", message)
    if undefined:
        return locate(source, rf"(?<![A-Za-z0-9_.]){re.escape(undefined[1])}(?![A-Za-z0-9_])")
    field = re.search(r"no such field: '([^']+)'", message)
    if field:
        return locate(source, rf"\.({re.escape(field[1])})(?![A-Za-z0-9_])")
    return None


async def check_against(
    source: str, representatives: Mapping[str, Mapping[str, Any]], settings: PrinciplesSettings
) -> None:
    """422 when the rule fails (errors, or gives no true/false) on a representative subject of a kind."""
    kinds = list(representatives)
    results = await evaluate([(source, representatives[k]) for k in kinds], settings)
    errors = []
    for kind, result in zip(kinds, results, strict=True):
        if result.error is not None:
            where = _locate_failure(source, result.error)
            errors.append(_error(f"fails on a representative {kind}: {result.error}", "rule_fails", where))
    if errors:
        raise ValidationProblem("the rule cannot judge: " + "; ".join(e["msg"] for e in errors), errors=errors)


# --- running -------------------------------------------------------------------------------------


class RuleRunner:
    """One worker process, restarted when it overruns a budget or dies; one batch at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""

    def _start(self, memory_mb: int) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter running our own script
            [sys.executable, "-u", str(WORKER), str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self._proc, self._buffer = proc, b""
        if self._readline(STARTUP_SECONDS) is None:
            self.stop()
            raise RuntimeError("the rule evaluator did not start")
        return proc

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            with contextlib.suppress(Exception):
                proc.wait(timeout=5)
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(Exception):
                    stream.close()  # type: ignore[union-attr]

    def _readline(self, timeout: float) -> bytes | None:
        """One line from the worker, or None when it does not answer within ``timeout`` or died."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def run(self, jobs: Sequence[tuple[str, str]], timeout: float, memory_mb: int) -> list[RuleResult]:
        """Evaluate (rule, subject JSON) pairs; each gets ``timeout`` seconds."""
        results: list[RuleResult | None] = [None] * len(jobs)
        with self._lock:
            start = 0
            while start < len(jobs):
                chunk = list(range(start, min(start + BATCH, len(jobs))))
                done = self._run_chunk(jobs, chunk, results, timeout, memory_mb)
                start = chunk[0] + done
        return [r if r is not None else RuleResult(error="not evaluated") for r in results]

    def _run_chunk(
        self,
        jobs: Sequence[tuple[str, str]],
        chunk: list[int],
        results: list[RuleResult | None],
        timeout: float,
        memory_mb: int,
    ) -> int:
        """Send one chunk and collect its answers; returns how many items were settled."""
        proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start(memory_mb)
        rules: dict[str, str] = {}
        keys: dict[str, str] = {}
        items = []
        for i in chunk:
            rule, subject = jobs[i]
            key = keys.setdefault(rule, str(len(keys)))
            rules[key] = rule
            items.append(f"[{json.dumps(key)},{subject}]")
        message = '{"rules":' + json.dumps(rules) + ',"items":[' + ",".join(items) + "]}\n"
        try:
            assert proc.stdin is not None
            proc.stdin.write(message.encode())
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.stop()
            results[chunk[0]] = RuleResult(error="the rule evaluator stopped unexpectedly")
            return 1
        for n, i in enumerate(chunk):
            # The first answer also waits for the worker to read and parse the whole chunk.
            line = self._readline(timeout + (1.0 if n == 0 else 0.0))
            if line is None:
                died = proc.poll() is not None
                self.stop()
                results[i] = RuleResult(
                    error="the rule stopped the evaluator (memory budget exceeded?)"
                    if died
                    else f"the rule took longer than its time budget of {timeout:g} s"
                )
                return n + 1
            answer = json.loads(line)
            results[i] = (
                RuleResult(value=bool(answer["value"])) if answer.get("ok") else RuleResult(error=answer.get("error"))
            )
        return len(chunk)


_runner = RuleRunner()
atexit.register(_runner.stop)


@dataclass
class RuleStats:
    """What this process's rule evaluations came to: how many, by outcome, and the time spent in the
    worker (the worker process is one per process, so these are too)."""

    evaluations: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


RULE_STATS = RuleStats()


def rule_figures(_app: Any = None) -> Iterable[Metric]:
    """The rule worker's figures for ``/metrics``."""
    evaluations = CounterMetricFamily(
        "principles_rule_evaluations", "Rule evaluations, by outcome (ok: true or false; error).", labels=["outcome"]
    )
    for outcome in ("ok", "error"):
        evaluations.add_metric([outcome], RULE_STATS.evaluations[outcome])
    seconds = CounterMetricFamily("principles_rule_worker_seconds", "Time spent waiting for the rule worker.")
    seconds.add_metric([], RULE_STATS.seconds)
    return [evaluations, seconds]


async def evaluate(jobs: Sequence[tuple[str, Any]], settings: PrinciplesSettings) -> list[RuleResult]:
    """Evaluate (rule, subject) pairs in the worker process, each within its time and size budget."""
    results: list[RuleResult | None] = [None] * len(jobs)
    runnable: list[tuple[str, str]] = []
    positions: list[int] = []
    for i, (rule, subject) in enumerate(jobs):
        if len(rule) > MAX_RULE_LENGTH:
            results[i] = RuleResult(error=f"the rule is longer than {MAX_RULE_LENGTH} characters")
            continue
        encoded = json.dumps(subject, separators=(",", ":"), ensure_ascii=False, default=str)
        if len(encoded.encode()) > settings.rule_max_subject_bytes:
            results[i] = RuleResult(
                error=f"the subject is larger than the rule budget of {settings.rule_max_subject_bytes} bytes"
            )
            continue
        runnable.append((rule, encoded))
        positions.append(i)
    if runnable:
        started = time.perf_counter()
        answers = await asyncio.to_thread(_runner.run, runnable, settings.rule_timeout_seconds, settings.rule_memory_mb)
        RULE_STATS.seconds += time.perf_counter() - started
        for i, answer in zip(positions, answers, strict=True):
            results[i] = answer
    for result in results:
        RULE_STATS.evaluations["error" if result is None or result.error is not None else "ok"] += 1
    return [r if r is not None else RuleResult(error="not evaluated") for r in results]
