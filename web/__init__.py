"""Flask front end: the chain explorer now; the consoles and the consumer scan page come later.

`create_app(gateway_url, ledger)` builds the app; `python -m web --gateway URL` serves it.
"""
from __future__ import annotations

from web.app import DEFAULT_PORT, create_app

__all__ = ["DEFAULT_PORT", "create_app"]
