"""Fixtures for the CA tests: the `suite` fixture runs a test once per crypto suite."""
from __future__ import annotations

import pytest

from chain.crypto import CLASSIC, SM, CryptoSuite

from .pki import Pki, make_pki


@pytest.fixture(params=[CLASSIC, SM], ids=["classic", "sm"])
def suite(request: pytest.FixtureRequest) -> CryptoSuite:
    """Each test using it runs once with the classic suite and once with the SM suite."""
    return request.param


@pytest.fixture
def pki(suite: CryptoSuite) -> Pki:
    """A fresh hierarchy of the suite under test."""
    return make_pki(suite)


@pytest.fixture
def other_suite(suite: CryptoSuite) -> CryptoSuite:
    """The suite that is not under test."""
    return SM if suite is CLASSIC else CLASSIC
