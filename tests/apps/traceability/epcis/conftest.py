"""Parametrises `example_file` over the GS1 EPCIS example documents in ../shared/epcis/JSON."""
from __future__ import annotations

import pytest

from .epcis_samples import example_names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give every test taking `example_file` one run per example document."""
    if "example_file" in metafunc.fixturenames:
        metafunc.parametrize("example_file", example_names())
