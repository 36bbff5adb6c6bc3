"""The traceability app's Flask blueprints: the consumer pages (Digital Link resolver), the consoles, EPCIS REST."""
from __future__ import annotations

from typing import Sequence

from flask import Flask

from apps.traceability.service import TraceService
from apps.traceability.web.auth import TraceUser
from apps.traceability.web.console import console
from apps.traceability.web.consumer import consumer
from apps.traceability.web.epcis_api import epcis_api

__all__ = ["TraceUser", "register"]


def register(app: Flask, service: TraceService, users: Sequence[TraceUser] = ()) -> None:
    """Mount the traceability pages on an app, over a service; `users` may sign in to the consoles."""
    app.extensions["trace_service"] = service
    app.extensions["trace_users"] = {u.username: u for u in users}
    app.register_blueprint(consumer)
    app.register_blueprint(console)
    app.register_blueprint(epcis_api)
