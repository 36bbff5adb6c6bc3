"""Error pages: what a person sees when something is missing, restricted, malformed, or the gateway is down.

Nothing reaches the browser as a traceback: gateway refusals (the SDK's
ApiError) become 404/403/400 pages with the gateway's message, an unreachable
gateway or one that reaches no node becomes a 503 page, and anything else a
plain 500 page (the traceback goes to the log).
"""
from __future__ import annotations

import logging

import requests
from flask import Flask, current_app, render_template
from werkzeug.exceptions import HTTPException

from chain.sdk import ApiError, Unreachable

log = logging.getLogger(__name__)

TITLES = {400: "Bad request", 403: "Restricted", 404: "Not found", 500: "Explorer error", 503: "Chain unavailable"}


def error_page(status: int, message: str, detail: str = "") -> tuple[str, int]:
    """The error page for `status`, with a message written for a person."""
    title = TITLES.get(status, "Error")
    return render_template("explorer/error.html", status=status, title=title, message=message, detail=detail), status


def _api_error(exc: ApiError) -> tuple[str, int]:
    message = str(exc).split(": ", 1)[-1]
    if exc.status == 404:
        return error_page(404, message)
    if exc.status in (401, 403):
        return error_page(403, f"This data is restricted: {message}",
                          "The explorer reads anonymously; the account's owners and reader roles see it with a token.")
    if exc.status == 400:
        return error_page(400, message)
    if exc.status in (502, 503, 504):
        return error_page(503, "The gateway answers, but reaches no node of the ledger right now.", message)
    log.warning("gateway answered %s", exc)
    return error_page(503, f"The gateway answered {exc.status} ({exc.code}).", message)


def _unreachable(exc: requests.RequestException | Unreachable) -> tuple[str, int]:
    url = current_app.config.get("GATEWAY_URL", "the gateway")
    log.warning("gateway %s: %s", url, exc)
    what = "did not answer in time" if isinstance(exc, requests.Timeout) or "timed out" in str(exc) else "does not answer"
    return error_page(503, f"The chain gateway at {url} {what}.", "Try again in a moment; if it persists, start the gateway.")


def _http(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    return error_page(status, exc.description or exc.name)


def _unexpected(exc: Exception) -> tuple[str, int]:
    log.exception("unexpected error")
    return error_page(500, "The explorer failed to show this page; the details are in its log.")


def register_error_pages(app: Flask) -> None:
    """Install the handlers on the app (they cover every blueprint)."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(requests.RequestException, _unreachable)
    app.register_error_handler(Unreachable, _unreachable)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
