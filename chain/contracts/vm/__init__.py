"""The metered VM: IR compiled to Python closures, run against a Host."""
from __future__ import annotations
