"""The rule evaluator process: reads batches of (rule, subject) as JSON lines on stdin and answers
one JSON line per item on stdout.

It runs as its own process (``python worker.py <memory-mb>``) because the CEL interpreter holds the
interpreter lock while it evaluates: only a process can be stopped when a rule overruns its time
budget, and only a process can have its memory capped. It imports nothing of the platform.
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

import cel

MAX_PROGRAMS = 256


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no such field: {exc.args[0]!r}" if exc.args else "no such field"
    text = str(exc).strip() or type(exc).__name__
    text = text.split(". Check that", 1)[0].split(". Check function", 1)[0]
    return text if len(text) <= 500 else text[:497] + "..."


def _evaluate(program: Any, subject: Any) -> dict[str, Any]:
    try:
        value = program.execute({"subject": subject})
    except Exception as exc:  # noqa: BLE001 - every failure of a rule is an answer, not a crash
        return {"ok": False, "error": _message(exc)}
    if isinstance(value, bool):
        return {"ok": True, "value": value}
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return {"ok": False, "error": f"the rule gave {shown} ({type(value).__name__}), not true or false"}


def main() -> None:
    if len(sys.argv) > 1:
        limit = int(sys.argv[1]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    programs: dict[str, Any] = {}
    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        batch = json.loads(line)
        rules: dict[str, str] = batch["rules"]
        for source in rules.values():
            if source in programs:
                continue
            if len(programs) >= MAX_PROGRAMS:
                programs.clear()
            try:
                programs[source] = cel.compile(source)
            except Exception as exc:  # noqa: BLE001
                programs[source] = exc
        for key, subject in batch["items"]:
            program = programs[rules[key]]
            if isinstance(program, Exception):
                answer = {"ok": False, "error": _message(program)}
            else:
                answer = _evaluate(program, subject)
            out.write(json.dumps(answer) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
