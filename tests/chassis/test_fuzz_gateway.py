"""Schemathesis over the gateway's merged document, with the services behind it (``tests/chassis/fuzzing.py``)."""

from __future__ import annotations

from pathlib import Path

from tests.chassis.fuzzing import fuzz_databases, fuzz_gateway
from tests.conftest import ServiceDatabase
from tests.support import Tokens

__all__ = ["fuzz_databases"]  # the module's own databases (a module-scoped fixture)


def test_the_gateway_conforms_to_its_merged_schema(
    var_dir: Path, fuzz_databases: dict[str, ServiceDatabase], tokens: Tokens
) -> None:
    fuzz_gateway(var_dir, fuzz_databases, tokens)
