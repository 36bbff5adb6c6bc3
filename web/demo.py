"""`make run`: the chain demo (consortium, gateway) with the web front end on top: the explorer at
127.0.0.1:8000/explorer/ and the traceability app (consumer pages at the items' Digital Links, consoles)."""
from __future__ import annotations

import sys

from chain import demo as chain_demo
from web.trace_demo import trace_front_end


def main() -> int:
    """Run the whole demo."""
    return chain_demo.main(front_ends=[trace_front_end(chain_demo.DATA / "consortium", chain_demo.PASSWORD)])


if __name__ == "__main__":
    sys.exit(main())
