"""The traceability app in a real browser: the trace stack, the web app served by waitress, headless Chromium.

One stack per module (a node, a gateway, five organisations, the contract) and
the web app (consumer pages and consoles) on a loopback port. The service's
resolver is that host:port over http, so the Digital Link a printed label
carries opens this app's consumer page. Chromium is Debian's, installed and
shared with the explorer's tests (the `browser` fixture of tests/conftest.py); under
CI=true a browser that cannot be had fails the tests instead of skipping them.
"""
from __future__ import annotations

import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
from flask import Flask

from apps.traceability.web import TraceUser
from tests.apps.traceability.stack import BRAND, CARRIER, SHOP, TraceStack, start_trace_stack
from tests.chain.gateway.conftest import serve, stop_server
from web.app import create_app

PASSWORD = "correct horse"
#: Console accounts: a brand, the logistics firm and the retailer.
USERS = {"ann": (BRAND, "brand"), "sam": (CARRIER, "logistics"), "rita": (SHOP, "retailer")}
TIMEOUT_MS = 15_000  # any one wait in a page (a commit takes well under a second here)


@dataclass
class TraceSite:
    """The served app's base URL, the stack behind it, and signed-in browser tabs by user name."""

    url: str
    stack: TraceStack
    app: Flask
    browser: Any
    _tabs: dict[str, Any] = field(default_factory=dict)

    def tab(self, username: str) -> Any:
        """A tab (its own context: its own cookies) signed in to the console through the sign-in form."""
        if username not in self._tabs:
            context = self.browser.new_context(base_url=self.url)
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.goto("/console/login")
            page.fill("#login-form input[name=username]", username)
            page.fill("#login-form input[name=password]", PASSWORD)
            page.click("#login-form button")
            page.wait_for_url(f"{self.url}/console/")
            assert page.locator("#who").inner_text().startswith(username)
            self._tabs[username] = page
        return self._tabs[username]

    def consumer(self, **options: Any) -> Any:
        """A fresh tab of a consumer (no console session); close its context when done."""
        context = self.browser.new_context(base_url=self.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        return context.new_page()

    def close(self) -> None:
        for page in self._tabs.values():
            page.context.close()
        self._tabs.clear()


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TraceSite]:
    """The stack, the web app served on a loopback port (the labels' resolver) and the session's browser."""
    with contextmanager(start_trace_stack)(tmp_path_factory.mktemp("trace-browser")) as stack:
        users = [TraceUser.create(name, org, role, PASSWORD) for name, (org, role) in USERS.items()]
        app = create_app(stack.url, "main", trace=stack.service, trace_users=users)
        url, server, thread = serve(app)
        stack.service.config.resolver = url.split("://", 1)[1]  # 127.0.0.1:<port>: the QR codes open this app
        stack.service.config.scheme = "http"
        found = TraceSite(url, stack, app, browser)
        try:
            yield found
        finally:
            found.close()
            stop_server(server, thread)
            jobs = app.extensions["trace_jobs"]
            jobs.shutdown()
            shutil.rmtree(jobs.directory, ignore_errors=True)
