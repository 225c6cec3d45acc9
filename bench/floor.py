"""The floor: a bare FastAPI app with one route that answers with a JSON object the size of a chain
(the documented example of one).

bench/run.py starts it with the Procfile's valuechains command (same uvicorn, same flags, only the
app and the port differ), so that what a service costs beyond FastAPI and uvicorn themselves (the
token, need to know, the database, the middleware) shows as a ratio to this.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def create_app() -> FastAPI:
    # The documented example of a chain, as the answer: the size and shape of the real one.
    from services.valuechains.chains.schemas import ChainRead

    extra: Any = ChainRead.model_config.get("json_schema_extra")
    [example] = extra["examples"]
    fields = {k: v for k, v in example.items() if k not in ("id", "href")}
    app = FastAPI(title="floor", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/v1/chains/{id_}")
    async def chain(id_: str) -> dict[str, Any]:
        return {"id": id_, "href": f"/valuechains/v1/chains/{id_}", **fields}

    return app
