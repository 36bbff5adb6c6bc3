"""A minimal structural walker over well-formed CBOR, used to build mutated encodings in tests.

Independent of chain.codec on purpose: the mutation tests must not trust the
code they test to tell them where heads and map entries are.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Node:
    """One data item: where its head and whole encoding lie, and its children."""

    start: int
    head_len: int
    major: int
    argument: int
    end: int = 0
    children: list[Node] = field(default_factory=list)


def parse(data: bytes, pos: int = 0) -> Node:
    """Parse the definite-length item at ``pos`` (floats/tags are not expected here)."""
    initial = data[pos]
    major, info = initial >> 5, initial & 0x1F
    if info < 24:
        argument, head_len = info, 1
    else:
        width = 1 << (info - 24)
        argument, head_len = int.from_bytes(data[pos + 1 : pos + 1 + width], "big"), 1 + width
    node = Node(pos, head_len, major, argument)
    cursor = pos + head_len
    if major in (2, 3):
        cursor += argument
    elif major in (4, 5):
        for _ in range(argument * (2 if major == 5 else 1)):
            child = parse(data, cursor)
            node.children.append(child)
            cursor = child.end
    node.end = cursor
    return node


def walk(node: Node) -> list[Node]:
    """All nodes in encoding order."""
    out = [node]
    for child in node.children:
        out.extend(walk(child))
    return out


def head(major: int, argument: int) -> bytes:
    """The shortest head for ``major`` and ``argument``."""
    mt = major << 5
    if argument < 24:
        return bytes([mt | argument])
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * width):
            return bytes([mt | info]) + argument.to_bytes(width, "big")
    raise ValueError("argument too large")


def widened_head(major: int, argument: int) -> bytes | None:
    """A head one width longer than the shortest one, or None if none exists."""
    shortest = len(head(major, argument))
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if 1 + width > shortest and argument < 1 << (8 * width):
            return bytes([(major << 5) | info]) + argument.to_bytes(width, "big")
    return None
