"""Fixtures shared by every test folder: headless Chromium (Playwright's sync API allows one per thread at a time)."""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_LOCK = Path("/tmp/chain-tests-chromium.lock")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def _install_chromium() -> str | None:
    """Install Debian's Chromium if it is missing; None when it is there, else why not."""
    with open(INSTALL_LOCK, "w") as lock:  # one installer at a time (pytest-xdist workers start together)
        fcntl.flock(lock, fcntl.LOCK_EX)
        if CHROMIUM.exists():
            return None
        if shutil.which("apt-get") is None:
            return "chromium is missing and there is no apt-get to install it"
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        try:
            subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, timeout=600, env=env)
            subprocess.run(["apt-get", "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=600", "chromium"],
                           check=True, capture_output=True, timeout=900, env=env)
        except subprocess.CalledProcessError as exc:
            return f"apt-get could not install chromium: {exc.stderr.decode(errors='replace')[-500:]}"
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"apt-get could not install chromium: {exc}"
        return None if CHROMIUM.exists() else "apt-get ran but /usr/bin/chromium is still missing"


#: Module scope, not session: a running sync Playwright marks its thread's event loop as running, and every later
#: test in that worker that calls asyncio.run() would fail; pytest ends module fixtures before another module's tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium under Playwright (its own browser downloads do not work here)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    problem = _install_chromium()
    if problem:
        _unavailable(problem)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


