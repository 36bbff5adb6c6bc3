"""HTTP gateway: REST /v1 in front of the nodes, with key custody, tokens, an OpenAPI document and event streams."""
from __future__ import annotations

from chain.gateway.app import GatewayConfig, create_app

__all__ = ["GatewayConfig", "create_app"]
