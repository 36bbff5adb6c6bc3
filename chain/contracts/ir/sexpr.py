"""The IR's text form: S-expressions with one canonical layout, so the signed text is the parsed text.

Atoms: integers (`-12`), strings (JSON-quoted), bytes (`#"00ff"`, lowercase hex),
`true`, `false`, `none`, symbols (`add`, `transfer`), locals (`$amount`) and
source lines (`@14`). A list prints on one line, except that a child list whose
head is `do` or whose parent is `contract`, `function` or `do` starts its own
line, indented two spaces per level; the text ends with one newline. `parse`
refuses text that `dump` would not print exactly so.
"""
from __future__ import annotations

import json
import re
from typing import Any, Union

from chain.contracts.errors import IRError
from chain.contracts.limits import MAX_IR_BYTES


class Sym(str):
    """A symbol: an instruction, a name or a type."""

    __slots__ = ()


class Local(str):
    """A local variable reference, printed `$name`."""

    __slots__ = ()


class Line(int):
    """A source line marker, printed `@n`."""

    __slots__ = ()


Node = Union[list[Any], Sym, Local, Line, int, str, bytes, bool, None]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(
    r'\s*(?:(?P<open>\()|(?P<close>\))|(?P<str>"(?:[^"\\\x00-\x1f]|\\.)*")|#"(?P<bytes>[0-9a-f]*)"'
    rf"|(?P<int>-?(?:0|[1-9][0-9]*))(?![A-Za-z0-9_])|\$(?P<local>{_NAME}(?:#[0-9]+)?)|@(?P<line>[1-9][0-9]*)"
    rf"|(?P<sym>{_NAME}(?:-{_NAME})*))"
)
_BLOCK_PARENTS = {"contract", "function", "do"}
MAX_DEPTH = 64


def _atom(node: Node) -> str:
    if isinstance(node, Sym):
        return str.__str__(node)
    if isinstance(node, Local):
        return "$" + str.__str__(node)
    if isinstance(node, Line):
        return f"@{int(node)}"
    if node is None:
        return "none"
    if node is True:
        return "true"
    if node is False:
        return "false"
    if type(node) is int:
        return str(node)
    if type(node) is str:
        return json.dumps(node, ensure_ascii=False)
    if type(node) is bytes:
        return f'#"{node.hex()}"'
    raise IRError(f"cannot print {type(node).__name__} in IR")


def dump(node: Node, indent: int = 0) -> str:
    """The canonical text of an IR tree."""
    if type(node) is not list:
        return _atom(node)
    if not node:
        return "()"
    head = node[0]
    parts = [dump(head, indent)]
    text = "(" + parts[0]
    for child in node[1:]:
        own_line = type(child) is list and ((type(head) is not list and head in _BLOCK_PARENTS) or (child and child[0] == "do"))
        if own_line:
            text += "\n" + "  " * (indent + 1) + dump(child, indent + 1)
        else:
            text += " " + dump(child, indent)
    return text + ")"


def parse(text: str) -> Node:
    """Parse canonical IR text into a tree; errors name the offending position."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_IR_BYTES:
        raise IRError(f"IR is larger than {MAX_IR_BYTES} bytes")
    stack: list[list[Any]] = []
    root: Node = None
    done = False
    pos = 0
    end = len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise IRError(f"unexpected text at offset {pos}: {text[pos:pos + 20]!r}")
        pos = match.end()
        if done:
            raise IRError(f"text after the end of the program at offset {match.start()}")
        kind = match.lastgroup
        if kind == "open":
            if len(stack) >= MAX_DEPTH:
                raise IRError(f"IR nests deeper than {MAX_DEPTH} levels")
            stack.append([])
            continue
        if kind == "close":
            if not stack:
                raise IRError(f"unbalanced ')' at offset {match.start()}")
            finished = stack.pop()
            if stack:
                stack[-1].append(finished)
            else:
                root, done = finished, True
            continue
        value = _value(kind, match)
        if not stack:
            raise IRError("an IR program must be one list")
        stack[-1].append(value)
    if stack or not done:
        raise IRError("unbalanced '(': the program is not closed")
    if text != dump(root) + "\n":
        raise IRError("IR text is not in canonical layout (print it with `chain contract show`)")
    return root


def _value(kind: str | None, match: re.Match[str]) -> Node:
    raw = match.group(kind or "")
    if kind == "str":
        try:
            return str(json.loads(raw))
        except ValueError:
            raise IRError(f"string literal {raw[:40]} has an invalid escape") from None
    if kind == "bytes":
        if len(raw) % 2:
            raise IRError("bytes literal has an odd number of hex digits")
        return bytes.fromhex(raw)
    if kind == "int":
        if len(raw) > 400:
            raise IRError("integer literal is too long")
        return int(raw)
    if kind == "local":
        return Local(raw)
    if kind == "line":
        return Line(int(raw))
    if raw == "true":
        return True
    if raw == "false":
        return False
    if raw == "none":
        return None
    return Sym(raw)
