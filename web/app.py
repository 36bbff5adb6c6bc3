"""The web front end's app factory: `create_app(gateway_url, ledger)` with the explorer blueprint and error pages."""
from __future__ import annotations

from flask import Flask, redirect, url_for
from werkzeug.wrappers.response import Response

from web.clients import ClientPool
from web.errors import register_error_pages
from web.explorer import blueprint as explorer

DEFAULT_PORT = 8000


def create_app(gateway_url: str, ledger: str = "main") -> Flask:
    """The Flask app for one ledger behind the gateway at `gateway_url` (serve it with `python -m web`)."""
    app = Flask("web")
    app.config["GATEWAY_URL"] = gateway_url.rstrip("/")
    app.config["LEDGER"] = ledger
    app.extensions["chain_clients"] = ClientPool(gateway_url, ledger)
    app.register_blueprint(explorer, url_prefix="/explorer")
    register_error_pages(app)

    @app.get("/")
    def index() -> Response:
        return redirect(url_for("explorer.home"))

    return app
