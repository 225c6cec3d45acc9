"""Schemathesis over the principles service's document (``tests/chassis/fuzzing.py``)."""

from __future__ import annotations

from pathlib import Path

from tests.chassis.fuzzing import fuzz, fuzz_databases
from tests.conftest import ServiceDatabase
from tests.support import Tokens

__all__ = ["fuzz_databases"]  # the module's own databases (a module-scoped fixture)


def test_principles_conforms_to_its_schema(
    var_dir: Path, fuzz_databases: dict[str, ServiceDatabase], tokens: Tokens
) -> None:
    fuzz("principles", var_dir, fuzz_databases, tokens)
