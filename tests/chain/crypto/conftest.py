"""Fixtures that run one test against every signature implementation (suites and SM2 backends)."""
from __future__ import annotations

import pytest

from chain.crypto.interfaces import SignatureSchemeAPI
from chain.crypto.p256 import EcdsaP256
from chain.crypto.sm2 import get_backend
from chain.crypto.sm2.scheme import Sm2Signature


@pytest.fixture(params=["ecdsa-p256", "sm2-native", "sm2-reference"])
def scheme(request: pytest.FixtureRequest) -> SignatureSchemeAPI:
    """Every signature scheme implementation, each behind the same interface."""
    if request.param == "ecdsa-p256":
        return EcdsaP256()
    return Sm2Signature(get_backend(request.param.split("-")[1]))
