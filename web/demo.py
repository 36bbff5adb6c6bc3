"""`make run`: the chain demo (consortium, gateway) with the web front end on top, at 127.0.0.1:8000/explorer/."""
from __future__ import annotations

import sys
from typing import Callable

import requests

from chain import demo as chain_demo
from chain.node.demo import ServedApp, serve_in_thread
from web.app import create_app

EXPLORER_PORT = 8000


def start_explorer(gateway_url: str, say: Callable[[str], None]) -> ServedApp:
    """Serve the explorer in front of the gateway and check its home page answers."""
    served = serve_in_thread(create_app(gateway_url, "main"), EXPLORER_PORT, "explorer", "/explorer/")
    home = requests.get(f"{served.url}/explorer/", timeout=30)
    say(f"   explorer     {served.url}/explorer/ (the web front end, through the gateway): home page {home.status_code}")
    return served


def main() -> int:
    """Run the whole demo."""
    return chain_demo.main(front_ends=[start_explorer])


if __name__ == "__main__":
    sys.exit(main())
