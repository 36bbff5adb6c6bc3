"""`python -m web --gateway http://127.0.0.1:8080 --port 8000`: serve the web front end with waitress."""
from __future__ import annotations

import argparse
import logging

from waitress import serve

from web.app import DEFAULT_PORT, create_app

log = logging.getLogger("web")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m web", description="The chain explorer (web front end).")
    parser.add_argument("--gateway", default="http://127.0.0.1:8080", help="the gateway's base URL")
    parser.add_argument("--ledger", default="main", help="the ledger to show")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--threads", type=int, default=32, help="server threads (each open live page holds one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(args.gateway, args.ledger)
    log.info("explorer on http://%s:%d/explorer/ (gateway %s, ledger %s)", args.host, args.port, args.gateway, args.ledger)
    serve(app, host=args.host, port=args.port, threads=args.threads, channel_timeout=300, ident="chain-web",
          clear_untrusted_proxy_headers=True)


if __name__ == "__main__":
    main()
