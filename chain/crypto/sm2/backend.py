"""Choose the SM2 backend: native (tongsuopy) where it imports, else the gmssl reference."""
from __future__ import annotations

import functools
import logging
import os

from chain.crypto.errors import UnknownAlgorithmError
from chain.crypto.sm2.interfaces import Sm2BackendAPI

log = logging.getLogger(__name__)

ENV_VAR = "CHAIN_SM2_BACKEND"


@functools.cache
def get_backend(name: str) -> Sm2BackendAPI:
    """The SM2 backend called `name` ("native" or "reference")."""
    if name == "native":
        from chain.crypto.sm2.native import NativeSm2Backend

        return NativeSm2Backend()
    if name == "reference":
        from chain.crypto.sm2.reference import ReferenceSm2Backend

        return ReferenceSm2Backend()
    raise UnknownAlgorithmError(f"unknown SM2 backend {name!r}; use 'native' or 'reference'")


def available_backends() -> list[str]:
    """Names of the SM2 backends that import on this machine."""
    names = []
    for name in ("native", "reference"):
        try:
            get_backend(name)
            names.append(name)
        except ImportError:
            pass
    return names


@functools.cache
def default_backend() -> Sm2BackendAPI:
    """$CHAIN_SM2_BACKEND if set, else native when tongsuopy imports, else reference."""
    wanted = os.environ.get(ENV_VAR)
    if wanted:
        return get_backend(wanted)
    try:
        return get_backend("native")
    except ImportError as exc:
        log.warning("tongsuopy unavailable (%s); SM2 falls back to the slow gmssl reference", exc)
        return get_backend("reference")
