"""The `trace` fixture: one real node + gateway + traceability service per test module (see stack.py)."""
from __future__ import annotations

from typing import Iterator

import pytest

from .stack import TraceStack, start_trace_stack


@pytest.fixture(scope="module")
def trace(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TraceStack]:
    yield from start_trace_stack(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]))
