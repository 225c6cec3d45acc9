"""A container's health check: ``python -m deploy.probe /readyz`` exits 0 when the component in this
container answers the path with 200, 1 otherwise (saying why on stderr).

The image's ``HEALTHCHECK`` and compose's healthchecks run it inside the container (the images have
no curl or wget); it imports nothing but the standard library, so a check every few seconds costs a
bare interpreter start. ``IV_PROBE_PORT`` (8000, the image's ``EXPOSE``) if a component listens
elsewhere.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_PORT = 8000
TIMEOUT_SECONDS = 2.0


def probe(path: str, port: int = DEFAULT_PORT, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """None when ``http://127.0.0.1:<port><path>`` answers 200, else what went wrong."""
    if not path.startswith("/"):
        return f"the path must start with /: {path!r}"
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        return f"{url}: {type(exc).__name__}: {exc}"
    return None if status == 200 else f"{url}: {status}"


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/healthz"
    failure = probe(path, int(os.environ.get("IV_PROBE_PORT", DEFAULT_PORT)))
    if failure is not None:
        print(failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
