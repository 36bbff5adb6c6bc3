"""The explorer's blueprint: its templates, its static files, the filters its pages use, and its SDK client."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from chain.sdk import Client
from web.explorer import formatting

blueprint = Blueprint("explorer", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/static")

for _name, _filter in formatting.FILTERS.items():
    blueprint.add_app_template_filter(_filter, _name)


@blueprint.app_context_processor
def _layout() -> dict[str, Any]:
    return {"ledger_name": current_app.config.get("LEDGER", ""), "gateway_url": current_app.config.get("GATEWAY_URL", "")}


def client() -> Client:
    """The SDK client of this server thread."""
    return current_app.extensions["chain_clients"].get()  # type: ignore[no-any-return]
