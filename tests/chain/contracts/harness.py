"""Helpers for the contract tests: run source in a Sandbox under a wall-clock guard, snapshot a sandbox's state."""
from __future__ import annotations

import faulthandler
import sys
import time
from typing import Any

from chain.contracts.sandbox import Sandbox
from chain.contracts.vm.execute import Outcome

#: Longest an invocation may take on a test machine (the gas limit, not the clock, must stop every contract).
WALL_CLOCK_SECONDS = 5.0
#: If an invocation hangs inside C code no Python-level timeout can interrupt it: this watchdog ends the process
#: (a C thread, so it works while the GIL is held) with every thread's traceback, instead of hanging the suite.
WATCHDOG_SECONDS = 60.0


def timed_invoke(sandbox: Sandbox, contract: str, function: str, *args: Any, **options: Any) -> tuple[Outcome, float]:
    """Invoke under the watchdog; return the outcome and the seconds it took."""
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True, file=sys.stderr)
    start = time.monotonic()
    try:
        outcome = sandbox.invoke(contract, function, *args, **options)
    finally:
        faulthandler.cancel_dump_traceback_later()
    return outcome, time.monotonic() - start


def invoke_guarded(sandbox: Sandbox, contract: str, function: str, *args: Any, **options: Any) -> Outcome:
    """Invoke and assert it finished within WALL_CLOCK_SECONDS."""
    outcome, seconds = timed_invoke(sandbox, contract, function, *args, **options)
    assert seconds < WALL_CLOCK_SECONDS, f"{contract}.{function} ran {seconds:.1f} s (error: {outcome.error!r})"
    return outcome


def run(source: str, function: str = "main", *args: Any, name: str = "c", **options: Any) -> Outcome:
    """Deploy source in a fresh Sandbox and invoke one function under the wall-clock guard."""
    sandbox = Sandbox()
    sandbox.deploy(name, source)
    return invoke_guarded(sandbox, name, function, *args, **options)


def value_of(source: str, function: str = "main", *args: Any) -> Any:
    """The result of a successful invocation (fails the test on a contract error)."""
    outcome = run(source, function, *args)
    assert outcome.error is None, f"unexpected error: {outcome.error!r}"
    return outcome.value


def state_of(sandbox: Sandbox) -> tuple[dict[Any, Any], dict[Any, Any], list[Any]]:
    """Copies of everything a sandbox keeps: storage, data accounts, events."""
    return dict(sandbox.storage), dict(sandbox.data), list(sandbox.events)
