"""SM2 (GB/T 32918): curve, two interchangeable backends and the backend chooser."""
from __future__ import annotations

from chain.crypto.sm2.backend import available_backends, default_backend, get_backend
from chain.crypto.sm2.interfaces import Sm2BackendAPI

__all__ = ["Sm2BackendAPI", "available_backends", "default_backend", "get_backend"]
