"""Default resource limits shared by the encoder and the decoder.

The decoder enforces them before allocating (a 9-byte header cannot make it
reserve gigabytes); the encoder enforces the same defaults so that anything
``encode`` emits is accepted by ``decode`` with default arguments.
"""

from __future__ import annotations

#: Largest encoded item, in bytes (4 MiB).
MAX_SIZE = 4 * 1024 * 1024
#: Deepest nesting of arrays/maps; ``[]`` has depth 1, a scalar depth 0.
MAX_DEPTH = 32
#: Most entries in one array (items) or one map (key/value pairs).
MAX_ITEMS = 1_000_000
#: Ceiling for a caller-chosen ``max_depth``: both codecs recurse once or twice
#: per level and must stay far below Python's recursion limit.
DEPTH_CEILING = 256


def check_limits(max_size: int, max_depth: int, max_items: int) -> None:
    """Refuse nonsensical limit arguments (a programming error, hence TypeError/ValueError)."""
    for name, value in (("max_size", max_size), ("max_depth", max_depth), ("max_items", max_items)):
        if type(value) is not int:
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    if max_depth > DEPTH_CEILING:
        raise ValueError(f"max_depth must be <= {DEPTH_CEILING}, got {max_depth}")
