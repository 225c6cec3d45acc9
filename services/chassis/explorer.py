"""The OpenAPI explorer (Swagger UI), served from this process: nothing is fetched from outside.

The page has no inline script, so its Content-Security-Policy can be ``script-src 'self'``.
"""

from __future__ import annotations

import json
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSET_PREFIX = "/static/explorer"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" type="image/png" href="{prefix}/favicon.png">
<link rel="stylesheet" href="{prefix}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{prefix}/swagger-ui-bundle.js"></script>
<script src="{prefix}/init.js"></script>
</body>
</html>
"""

_INIT = """window.ui = SwaggerUIBundle({config});
"""


def mount_explorer(app: FastAPI, *, title: str, openapi_url: str = "/openapi.json") -> None:
    """``/docs`` with Swagger UI's assets from the installed package; the token can be authorised."""
    config = {
        "url": openapi_url,
        "dom_id": "#swagger-ui",
        "deepLinking": True,
        "persistAuthorization": True,
        "displayRequestDuration": True,
        "filter": True,
        "tryItOutEnabled": True,
        "validatorUrl": None,
    }
    page = _PAGE.format(title=title, prefix=ASSET_PREFIX)
    init = _INIT.format(config=json.dumps(config))

    @app.get("/docs", include_in_schema=False)
    async def explorer() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(ASSET_PREFIX + "/init.js", include_in_schema=False)
    async def explorer_init() -> Response:
        return Response(init, media_type="text/javascript")

    app.mount(ASSET_PREFIX, StaticFiles(directory=ASSETS), name="explorer-assets")
