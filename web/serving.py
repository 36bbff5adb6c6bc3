"""Serving the web app from a thread of the demo process (waitress on a loopback port)."""
from __future__ import annotations

import socket
import threading
from typing import Callable

from flask import Flask
from waitress import create_server


class ServedWeb:
    """The web app served in a thread: its base `url`, the `home` path to open first, and `stop()`."""

    def __init__(self, app: Flask, server: object, url: str, home: str) -> None:
        self.app, self.server, self.url, self.home = app, server, url, home
        self.cleanups: list[Callable[[], None]] = []  # what runs beside the app (e.g. the IoT bridge), stopped first

    def stop(self) -> None:
        """Stop what runs beside the app and background jobs, then the server."""
        for cleanup in reversed(self.cleanups):
            cleanup()
        jobs = self.app.extensions.get("trace_jobs")
        if jobs is not None:
            jobs.shutdown()
        self.server.close()  # type: ignore[attr-defined]


def free_port(preferred: int) -> int:
    """`preferred` if nothing listens on it at 127.0.0.1, else a port the kernel picks."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(app: Flask, port: int, home: str, threads: int = 16) -> ServedWeb:
    """Serve `app` on 127.0.0.1:port in a daemon thread."""
    server = create_server(app, host="127.0.0.1", port=port, threads=threads, channel_timeout=300)
    threading.Thread(target=server.run, name="web", daemon=True).start()
    return ServedWeb(app, server, f"http://127.0.0.1:{server.effective_port}", home)
