"""``/healthz``: the process is alive. ``/readyz``: the database answers and is at head.

A schema at revisions this code does not know is a newer release's, migrated before its pods
serve (migrations keep the previous release working: docs/operations.md): the running release
stays ready through the upgrade, and after a rollback. A schema behind head, or at nothing, is not
ready.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from services.chassis.db import Database
from services.chassis.errors import PROBLEM_JSON, UNAVAILABLE, problem_body
from services.chassis.migrations import current_revisions, head_revisions, known_revisions
from services.chassis.queries import strict_router

logger = logging.getLogger("iv.health")


def health_router(migrations_dir: Path) -> APIRouter:
    router = strict_router(tags=["operations"])
    heads = head_revisions(migrations_dir)
    known = known_revisions(migrations_dir)

    @router.get("/healthz", summary="Liveness", description="200 while the process is alive.")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness",
        description=(
            "200 when the database is reachable and migrated to head (or to a newer release's head); "
            "503 problem otherwise."
        ),
        responses={503: {"description": "Not ready", "content": {PROBLEM_JSON: {}}}},
    )
    async def readyz(request: Request) -> JSONResponse:
        db: Database | None = getattr(request.app.state, "db", None)
        checks: dict[str, Any] = {}
        ready = db is not None
        if db is not None:
            try:
                async with db.session(write=False) as session:
                    await session.execute(text("SELECT 1"))
                    checks["database"] = "ok"
                    current = await current_revisions(await session.connection())
                newer = bool(current) and not current & known
                if current == heads:
                    checks["schema"] = "at head"
                elif newer:
                    checks["schema"] = f"at {sorted(current)}, newer than this version's head {sorted(heads)}"
                else:
                    checks["schema"] = f"at {sorted(current) or 'nothing'}, head is {sorted(heads)}"
                ready = current == heads or newer
            except Exception as exc:  # any failure means not ready
                # The answer names only the kind of failure (no token is needed to ask); the log says what.
                logger.warning("not ready: the database check failed", exc_info=True)
                checks["database"] = f"unreachable: {type(exc).__name__}"
                ready = False
        if ready:
            return JSONResponse({"status": "ready", "checks": checks})
        body = problem_body(UNAVAILABLE, "not ready: " + ", ".join(f"{k} {v}" for k, v in checks.items()))
        body["checks"] = checks
        return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)

    return router
