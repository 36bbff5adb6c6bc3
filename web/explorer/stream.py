"""A same-origin relay of the gateway's event stream (server-sent events) for the explorer's live pages.

The gateway is another origin, so the page's EventSource connects here and
this route relays one gateway stream through the SDK.  Event ids pass through
unchanged: when the browser reconnects it sends the last id as Last-Event-ID,
and the relay hands it to the gateway, which resumes right after it.  The
gateway's keep-alives are relayed too, which is also how a relay notices,
within one keep-alive period, that its browser has gone.
"""
from __future__ import annotations

import json
import logging
from typing import Iterator

import requests
from flask import Response, request
from werkzeug.exceptions import BadRequest

from web.explorer.blueprint import blueprint, client

log = logging.getLogger(__name__)

TYPES = {"block", "transaction", "event"}
RETRY_MS = 2000


@blueprint.get("/stream")
def stream() -> Response:
    types = [t for t in request.args.get("types", "block").split(",") if t]
    if not types or not set(types) <= TYPES:
        raise BadRequest("types are block, transaction and event, comma-separated")
    from_height = request.args.get("from_height")
    if from_height is not None and not (from_height.isdigit() and len(from_height) <= 18):
        raise BadRequest("from_height must be a block height")
    upstream = client().event_stream(types, request.args.get("account") or None, request.args.get("topic") or None,
                                     None if from_height is None else int(from_height),
                                     request.headers.get("Last-Event-ID") or None)
    next(upstream)  # connected: refusals and an unreachable gateway become error pages, not a broken stream
    return Response(_relay(upstream), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _relay(upstream: Iterator[tuple[str, str, dict[str, object]] | None]) -> Iterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    try:
        for item in upstream:
            if item is None:
                yield ": keep-alive\n\n"
                continue
            event_id, event_type, data = item
            yield f"id: {event_id}\nevent: {event_type}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
    except (requests.RequestException, ValueError) as exc:
        log.info("event relay: the gateway stream ended (%s); the browser reconnects", exc)
    finally:
        close = getattr(upstream, "close", None)
        if close is not None:
            close()
