"""The web front end's app factory: `create_app(gateway_url, ledger)` with the explorer blueprint and error pages."""
from __future__ import annotations

import time
from typing import Sequence

from flask import Flask, g, redirect, url_for
from werkzeug.wrappers.response import Response

from apps.traceability.web import TraceUser
from apps.traceability.web import register as register_traceability
from apps.traceability.service import TraceService
from web.clients import ClientPool
from web.errors import register_error_pages
from web.explorer import blueprint as explorer

DEFAULT_PORT = 8000


def create_app(gateway_url: str, ledger: str = "main", trace: TraceService | None = None,
               trace_users: Sequence[TraceUser] = ()) -> Flask:
    """The Flask app for one ledger behind the gateway at `gateway_url` (serve it with `python -m web`); with a
    traceability service, also the consumer pages (Digital Link resolver) and the traceability consoles."""
    app = Flask("web")
    app.config["GATEWAY_URL"] = gateway_url.rstrip("/")
    app.config["LEDGER"] = ledger
    app.extensions["chain_clients"] = ClientPool(gateway_url, ledger)
    app.register_blueprint(explorer, url_prefix="/explorer")
    register_error_pages(app)
    if trace is not None:
        register_traceability(app, trace, trace_users)

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _server_timing(response: Response) -> Response:
        started = g.get("started")
        if started is not None:
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response

    @app.get("/")
    def index() -> Response:
        return redirect(url_for("explorer.home"))

    return app
