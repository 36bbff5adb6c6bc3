"""The event stream of one ledger: each block becomes ordered items (the block, its transactions, its events),
numbered `height:index`, so a subscriber that reconnects with Last-Event-ID resumes after the last item it got:
nothing lost, nothing twice. A follower thread long-polls a node for new heights and wakes the streams (push)."""
from __future__ import annotations

import json
import logging
import threading
from typing import Any, Callable, Iterator

from chain.gateway.errors import ApiError, bad_request

log = logging.getLogger(__name__)

KEEPALIVE_S = 5.0  # also how soon a stream notices its client went away


class EventFeed:
    """Follows a ledger's height and serves SSE streams from any point of its history."""

    def __init__(self, ledger: str, call: Callable[..., Any], items_of: Callable[[int], list[dict[str, Any]]]) -> None:
        self.ledger = ledger
        self.call = call
        self.items_of = items_of
        self.height = self._status_height()
        self.changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name=f"feed-{ledger}", daemon=True)
        self._thread.start()

    def _status_height(self) -> int:
        return next(s["height"] for s in self.call("status")["ledgers"] if s["name"] == self.ledger)  # type: ignore[no-any-return]

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                height = self.call("wait_height", ledger=self.ledger, height=self.height + 1, timeout_ms=20_000)["height"]
            except ApiError as exc:
                log.warning("event feed %s: %s; retrying", self.ledger, exc.message)
                self._stop.wait(1.0)
                continue
            if height > self.height:
                with self.changed:
                    self.height = height
                    self.changed.notify_all()

    def stop(self) -> None:
        """End the follower (streams end at their next wake-up)."""
        self._stop.set()
        with self.changed:
            self.changed.notify_all()

    def resume_point(self, last_event_id: str | None, from_height: int | None) -> tuple[int, int]:
        """(height, first item index) to start from."""
        if last_event_id:
            height_text, _, index_text = last_event_id.partition(":")
            if not (height_text.isdigit() and index_text.isdigit()):
                raise bad_request("Last-Event-ID must be HEIGHT:INDEX as sent in an event's id", "Last-Event-ID")
            return int(height_text), int(index_text) + 1
        if from_height is not None:
            return from_height, 0
        return self.height + 1, 0

    def stream(self, start: tuple[int, int], types: set[str], account: str | None, topic: str | None,
               once: bool = False) -> Iterator[str]:
        """SSE text: items from `start` on, filtered; waits for new blocks (keep-alive comments meanwhile)."""
        height, skip = start
        # a one-shot read covers the history committed when it was asked for, even if the follower is a moment behind
        last = self._status_height() if once else 0
        yield "retry: 1000\n\n"
        while not self._stop.is_set():
            if height <= max(self.height, last):
                for index, item in enumerate(self.items_of(height)):
                    if index < skip or not _matches(item, types, account, topic):
                        continue
                    yield f"id: {height}:{index}\nevent: {item['type']}\ndata: {json.dumps(item, separators=(',', ':'))}\n\n"
                height, skip = height + 1, 0
                continue
            if once:
                return
            with self.changed:
                if height > self.height:
                    self.changed.wait(KEEPALIVE_S)
            if height > self.height:
                yield ": keep-alive\n\n"


def _matches(item: dict[str, Any], types: set[str], account: str | None, topic: str | None) -> bool:
    if item["type"] not in types:
        return False
    if item["type"] != "event":
        return True
    return (account is None or item["account"] == account) and (topic is None or item["topic"] == topic)
