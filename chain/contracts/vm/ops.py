"""Value operations of the VM: Python semantics, with every size and nesting limit checked before the work is done."""
from __future__ import annotations

import hashlib

from typing import Any, Callable

from chain.contracts.errors import ContractRuntimeError, LimitExceeded
from chain.contracts.values import type_name
from chain.contracts.vm.meter import Meter

_CONTAINERS = (list, tuple, dict)
_SIZED = (str, bytes, list, tuple, dict, range)
_WALKED = (list, tuple, dict, str, bytes)
MAX_VALUE_DEPTH = 32


def too_big(what: str) -> LimitExceeded:
    return LimitExceeded(f"{what} exceeds the size limit", None, "memory")


def check_int(m: Meter, value: int) -> int:
    """Refuse integers beyond the VM's bit limit."""
    if value.bit_length() > m.limits.int_bits:
        raise LimitExceeded(f"integer of {value.bit_length()} bits exceeds the {m.limits.int_bits}-bit limit", None, "integer")
    return value


def check_depth(m: Meter, value: Any) -> None:
    """Refuse containers nested deeper than MAX_VALUE_DEPTH before an operation recurses into them, paying as it walks.

    Values may share parts (`[row] * 65536`), so a small allocation can stand for a huge tree: the walk charges one
    unit per container and per item (and per KiB of text) as it goes, so out of gas stops it, rather than counting first and charging after.
    It goes level by level, one container at a time, so no level is listed before its containers are paid for.
    """
    level = [value] if type(value) in _WALKED else []
    depth = 0
    charge = m.charge
    while level:
        children: list[Any] = []
        text = 0
        for item in level:
            tp = type(item)
            if tp is str or tp is bytes:
                text += len(item)
                continue
            if depth > MAX_VALUE_DEPTH:
                raise LimitExceeded(f"value nests deeper than {MAX_VALUE_DEPTH} levels", None, "memory")
            charge(1 + len(item))
            children += item
            if tp is dict:
                children += item.values()
        charge(text >> 10)
        level = [child for child in children if type(child) in _WALKED]
        depth += 1


def exceeds_encoded_size(value: Any, limit: int) -> bool:
    """True if the canonical CBOR of a value is surely longer than `limit` bytes, found without encoding it.

    Every item takes at least one byte and text and bytes at least their length, so the walk stops after at most
    `limit` items even when the value shares parts (a 2**32-item list built from 131074 allocated units).
    """
    total = 1
    stack = [value]
    while stack:
        item = stack.pop()
        tp = type(item)
        if tp is str or tp is bytes:
            total += len(item)
        elif tp is list or tp is tuple:
            total += len(item)
            if total <= limit:
                stack.extend(item)
        elif tp is dict:
            total += 2 * len(item)
            if total <= limit:
                stack.extend(item)
                stack.extend(item.values())
        if total > limit:
            return True
    return False


def account_size(m: Meter, value: Any) -> None:
    tp = type(value)
    if tp is str or tp is bytes:
        if len(value) > m.limits.max_bytes:
            raise too_big(type_name(value))
        m.alloc(1 + len(value) // 16)
    elif tp is list or tp is tuple or tp is dict:
        if len(value) > m.limits.max_items:
            raise too_big(type_name(value))
        m.alloc(1 + len(value))


def _numeric(value: Any, what: str) -> int:
    if type(value) is int or type(value) is bool:
        return int(value)
    raise ContractRuntimeError(f"{what} needs integers, not {type_name(value)}")


# arithmetic


def add(m: Meter, a: Any, b: Any) -> Any:
    r = a + b
    if type(r) is int:
        return check_int(m, r)
    account_size(m, r)
    return r


def sub(m: Meter, a: Any, b: Any) -> Any:
    r = a - b
    if type(r) is not int:
        raise ContractRuntimeError(f"cannot subtract {type_name(b)} from {type_name(a)}")
    return check_int(m, r)


def mul(m: Meter, a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta in (str, bytes, list, tuple) or tb in (str, bytes, list, tuple):
        seq, count = (a, b) if ta in (str, bytes, list, tuple) else (b, a)
        count = _numeric(count, "repetition")
        limit = m.limits.max_bytes if type(seq) in (str, bytes) else m.limits.max_items
        if count > 0 and len(seq) * count > limit:
            raise too_big(f"{type_name(seq)} * {count}")
        r = seq * count
        account_size(m, r)
        return r
    r = a * b
    if type(r) is not int:
        raise ContractRuntimeError(f"cannot multiply {type_name(a)} by {type_name(b)}")
    return check_int(m, r)


def floordiv(m: Meter, a: Any, b: Any) -> Any:
    return check_int(m, _numeric(a, "//") // _numeric(b, "//"))


def mod(m: Meter, a: Any, b: Any) -> Any:
    if type(a) is str or type(a) is bytes:
        raise ContractRuntimeError("% formatting is not allowed: use f-strings")
    return _numeric(a, "%") % _numeric(b, "%")


def power(m: Meter, a: Any, b: Any) -> Any:
    base, exponent = _numeric(a, "**"), _numeric(b, "**")
    if exponent < 0:
        raise ContractRuntimeError("negative exponents give fractions, which are not allowed")
    if base not in (0, 1, -1) and (base.bit_length() - 1) * exponent > m.limits.int_bits:
        raise LimitExceeded(f"{base.bit_length()}-bit base ** {exponent} exceeds the {m.limits.int_bits}-bit limit", None, "integer")
    m.charge(1 + exponent.bit_length())
    return check_int(m, base ** exponent)


def lshift(m: Meter, a: Any, b: Any) -> Any:
    value, shift = _numeric(a, "<<"), _numeric(b, "<<")
    if shift < 0:
        raise ContractRuntimeError("negative shift count")
    if value and value.bit_length() + shift > m.limits.int_bits:
        raise LimitExceeded(f"shift exceeds the {m.limits.int_bits}-bit integer limit", None, "integer")
    return value << shift


def rshift(m: Meter, a: Any, b: Any) -> Any:
    value, shift = _numeric(a, ">>"), _numeric(b, ">>")
    if shift < 0:
        raise ContractRuntimeError("negative shift count")
    return value >> min(shift, m.limits.int_bits + 1)


def bitor(m: Meter, a: Any, b: Any) -> Any:
    if type(a) is dict and type(b) is dict:
        raise ContractRuntimeError("use update() to merge dicts")
    return _numeric(a, "|") | _numeric(b, "|") if not (type(a) is bool and type(b) is bool) else a | b


def bitxor(m: Meter, a: Any, b: Any) -> Any:
    return _numeric(a, "^") ^ _numeric(b, "^") if not (type(a) is bool and type(b) is bool) else a ^ b


def bitand(m: Meter, a: Any, b: Any) -> Any:
    return _numeric(a, "&") & _numeric(b, "&") if not (type(a) is bool and type(b) is bool) else a & b


def _compared(m: Meter, a: Any, b: Any) -> None:
    """Pay for (and bound the recursion of) comparisons whose cost grows with the operands."""
    ta, tb = type(a), type(b)
    if ta in _CONTAINERS and tb in _CONTAINERS:
        check_depth(m, a)
        check_depth(m, b)
    elif (ta is str or ta is bytes) and ta is tb:
        m.charge((len(a) + len(b)) >> 10)


def eq(m: Meter, a: Any, b: Any) -> bool:
    _compared(m, a, b)
    return bool(a == b)


def ne(m: Meter, a: Any, b: Any) -> bool:
    _compared(m, a, b)
    return bool(a != b)


def lt(m: Meter, a: Any, b: Any) -> bool:
    _compared(m, a, b)
    return bool(a < b)


def le(m: Meter, a: Any, b: Any) -> bool:
    _compared(m, a, b)
    return bool(a <= b)


def gt(m: Meter, a: Any, b: Any) -> bool:
    _compared(m, a, b)
    return bool(a > b)


def ge(m: Meter, a: Any, b: Any) -> bool:
    _compared(m, a, b)
    return bool(a >= b)


def contains(m: Meter, a: Any, b: Any) -> bool:
    tb = type(b)
    if tb not in (str, bytes, list, tuple, dict, range):
        raise ContractRuntimeError(f"`in` needs a str, bytes, list, tuple, dict or range, not {type_name(b)}")
    if tb is range:
        # CPython scans a range item by item for anything but an int: no other value can be in it
        return (type(a) is int or type(a) is bool) and a in b
    if tb is dict:
        hashable_key(m, a)
    elif type(a) in _CONTAINERS:
        check_depth(m, a)
        check_depth(m, b)
    if tb is list or tb is tuple:
        m.charge(len(b) * (1 + (len(a) >> 10 if type(a) is str or type(a) is bytes else 0)))
    elif tb is str or tb is bytes:
        m.charge(len(b) >> 6)
    return a in b


def not_contains(m: Meter, a: Any, b: Any) -> bool:
    return not contains(m, a, b)


def neg(m: Meter, a: Any) -> Any:
    return check_int(m, -_numeric(a, "unary -"))


def pos(m: Meter, a: Any) -> Any:
    return _numeric(a, "unary +")


def invert(m: Meter, a: Any) -> Any:
    return check_int(m, ~_numeric(a, "~"))


def is_none(m: Meter, a: Any) -> bool:
    return a is None


def not_(m: Meter, a: Any) -> bool:
    return not a


BINARY: dict[str, Callable[[Meter, Any, Any], Any]] = {
    "add": add, "sub": sub, "mul": mul, "floordiv": floordiv, "mod": mod, "pow": power, "lshift": lshift,
    "rshift": rshift, "bitor": bitor, "bitxor": bitxor, "bitand": bitand, "eq": eq, "ne": ne, "lt": lt, "le": le,
    "gt": gt, "ge": ge, "in": contains, "not-in": not_contains,
}
UNARY: dict[str, Callable[[Meter, Any], Any]] = {"neg": neg, "pos": pos, "invert": invert, "is-none": is_none, "not": not_}


# items


def hashable_key(m: Meter, value: Any) -> Any:
    """Refuse dict keys that are not int, str, bytes, bool, None or tuples of these (paying for hashing and comparing)."""
    tp = type(value)
    if tp is tuple:
        check_depth(m, value)
        stack = [value]
        while stack:
            for item in stack.pop():
                kind = type(item)
                if kind is tuple:
                    stack.append(item)
                elif kind is list or kind is dict:
                    raise ContractRuntimeError(f"a {type_name(item)} cannot be a key")
    elif tp is str or tp is bytes:
        m.charge(len(value) >> 10)
    elif tp is list or tp is dict:
        raise ContractRuntimeError(f"a {type_name(value)} cannot be a key")
    return value


def index(m: Meter, obj: Any, key: Any) -> Any:
    tp = type(obj)
    if tp is dict:
        hashable_key(m, key)
        if key not in obj:
            raise ContractRuntimeError(f"key {show(key)} is not in the dict")
        return obj[key]
    if tp in (list, tuple, str, bytes, range):
        if type(key) is not int and type(key) is not bool:
            raise ContractRuntimeError(f"{type_name(obj)} indices must be integers, not {type_name(key)}")
        if not -len(obj) <= key < len(obj):
            raise ContractRuntimeError(f"index {key} is out of range for length {len(obj)}")
        return obj[key]
    raise ContractRuntimeError(f"{type_name(obj)} cannot be indexed")


def setitem(m: Meter, obj: Any, key: Any, value: Any) -> None:
    tp = type(obj)
    if tp is dict:
        hashable_key(m, key)
        if key not in obj:
            if len(obj) >= m.limits.max_items:
                raise too_big("dict")
            m.alloc(1)
        obj[key] = value
    elif tp is list:
        index(m, obj, key)
        obj[key] = value
    else:
        raise ContractRuntimeError(f"{type_name(obj)} does not support item assignment")


def delitem(m: Meter, obj: Any, key: Any) -> None:
    tp = type(obj)
    if tp is dict:
        hashable_key(m, key)
        if key not in obj:
            raise ContractRuntimeError(f"key {show(key)} is not in the dict")
        del obj[key]
    elif tp is list:
        index(m, obj, key)
        m.charge(len(obj))
        del obj[key]
    else:
        raise ContractRuntimeError(f"{type_name(obj)} does not support item deletion")


def slice_(m: Meter, obj: Any, lo: Any, hi: Any, step: Any) -> Any:
    if type(obj) not in (list, tuple, str, bytes):
        raise ContractRuntimeError(f"{type_name(obj)} cannot be sliced")
    for part in (lo, hi, step):
        if part is not None and type(part) is not int:
            raise ContractRuntimeError("slice bounds must be integers or None")
    if step == 0:
        raise ContractRuntimeError("slice step cannot be zero")
    r = obj[lo:hi:step]
    account_size(m, r)
    return r


def show(value: Any) -> str:
    text = repr(value) if type(value) in (int, str, bytes, bool) or value is None else type_name(value)
    return text if len(text) <= 60 else text[:57] + "..."


# constructors


def new_list(m: Meter, items: list[Any]) -> list[Any]:
    m.alloc(1 + len(items))
    return items


def new_tuple(m: Meter, items: list[Any]) -> tuple[Any, ...]:
    m.alloc(1 + len(items))
    return tuple(items)


def new_dict(m: Meter, items: list[Any]) -> dict[Any, Any]:
    m.alloc(1 + len(items) // 2)
    out: dict[Any, Any] = {}
    for i in range(0, len(items), 2):
        out[hashable_key(m, items[i])] = items[i + 1]
    return out


def concat(m: Meter, parts: list[Any]) -> str:
    for part in parts:
        if type(part) is not str:
            raise ContractRuntimeError(f"f-string part is {type_name(part)}, not str")
    r = "".join(parts)
    account_size(m, r)
    return r


# builtins


def _iterable_size(m: Meter, value: Any, what: str, materialize: bool = False) -> int:
    if type(value) not in _SIZED:
        raise ContractRuntimeError(f"{what}() needs a list, tuple, dict, str, bytes or range, not {type_name(value)}")
    try:
        size = len(value)
    except OverflowError:
        raise LimitExceeded(f"{what}() over a range too large", None, "gas") from None
    if materialize and size > m.limits.max_items:
        raise too_big(f"{what}() result")
    m.charge(size)
    return size


def b_len(m: Meter, value: Any) -> int:
    if type(value) not in _SIZED:
        raise ContractRuntimeError(f"len() needs a sized value, not {type_name(value)}")
    try:
        return len(value)
    except OverflowError:
        raise LimitExceeded("len() of a range too large", None, "integer") from None


def b_abs(m: Meter, value: Any) -> int:
    return check_int(m, abs(_numeric(value, "abs()")))


def _extreme(m: Meter, args: tuple[Any, ...], pick: Callable[..., Any], what: str) -> Any:
    items: Any = args[0] if len(args) == 1 else args
    size = _iterable_size(m, items, what)
    if size == 0:
        raise ContractRuntimeError(f"{what}() of an empty sequence")
    if type(items) is not range:
        check_depth(m, items)
    return pick(items)


def b_min(m: Meter, *args: Any) -> Any:
    return _extreme(m, args, min, "min")


def b_max(m: Meter, *args: Any) -> Any:
    return _extreme(m, args, max, "max")


def b_range(m: Meter, *args: Any) -> range:
    for arg in args:
        if type(arg) is not int:
            raise ContractRuntimeError(f"range() needs integers, not {type_name(arg)}")
    if len(args) == 3 and args[2] == 0:
        raise ContractRuntimeError("range() step cannot be zero")
    return range(*args)


def b_sorted(m: Meter, value: Any) -> list[Any]:
    size = _iterable_size(m, value, "sorted", materialize=True)
    if type(value) is not range:
        check_depth(m, value)
    m.alloc(1 + size)
    m.charge(size * max(1, size.bit_length()))
    return sorted(value)


def b_reversed(m: Meter, value: Any) -> list[Any]:
    size = _iterable_size(m, value, "reversed", materialize=True)
    if type(value) is dict:
        raise ContractRuntimeError("reversed() of a dict is not allowed")
    m.alloc(1 + size)
    return list(reversed(value))


def b_sum(m: Meter, value: Any) -> int:
    _iterable_size(m, value, "sum")
    total = 0
    for item in value:
        total = check_int(m, total + _numeric(item, "sum()"))
    return total


def b_any(m: Meter, value: Any) -> bool:
    _iterable_size(m, value, "any")
    return any(value)


def b_all(m: Meter, value: Any) -> bool:
    _iterable_size(m, value, "all")
    return all(value)


def b_enumerate(m: Meter, value: Any) -> list[tuple[int, Any]]:
    size = _iterable_size(m, value, "enumerate", materialize=True)
    m.alloc(1 + 2 * size)
    return list(enumerate(value))


def b_zip(m: Meter, *args: Any) -> list[tuple[Any, ...]]:
    size = min(_iterable_size(m, a, "zip", materialize=True) for a in args)
    m.alloc(1 + 2 * size)
    return list(zip(*args))


def b_divmod(m: Meter, a: Any, b: Any) -> tuple[int, int]:
    quotient, remainder = divmod(_numeric(a, "divmod()"), _numeric(b, "divmod()"))
    return check_int(m, quotient), remainder


def b_str(m: Meter, value: Any) -> str:
    tp = type(value)
    if tp is str:
        return value  # type: ignore[no-any-return]
    if tp in (int, bool, bytes) or value is None:
        r = str(value)
        account_size(m, r)
        return r
    raise ContractRuntimeError(f"str() of a {type_name(value)} is not allowed; build the text from its items")


def b_int(m: Meter, value: Any) -> int:
    tp = type(value)
    if tp is int or tp is bool:
        return int(value)
    if tp is str:
        m.charge(len(value) >> 4)
        text = value.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > 400:
            raise ContractRuntimeError(f"int() needs decimal digits, got {show(value)}")
        return check_int(m, int(text))
    raise ContractRuntimeError(f"int() of a {type_name(value)} is not allowed")


def b_bool(m: Meter, value: Any) -> bool:
    return bool(value)


def b_bytes(m: Meter, value: Any) -> bytes:
    tp = type(value)
    if tp is bytes:
        return value  # type: ignore[no-any-return]
    if tp is list or tp is tuple:
        if len(value) > m.limits.max_bytes:
            raise too_big("bytes")
        m.charge(len(value))
        if not all(type(v) is int and 0 <= v < 256 for v in value):
            raise ContractRuntimeError("bytes() needs integers 0..255")
        m.alloc(1 + len(value) // 16)
        return bytes(value)
    raise ContractRuntimeError(f"bytes() of a {type_name(value)} is not allowed; use text.encode() or bytes.fromhex()")


def b_list(m: Meter, value: Any = ()) -> list[Any]:
    size = _iterable_size(m, value, "list", materialize=True)
    m.alloc(1 + size)
    return list(value)


def b_tuple(m: Meter, value: Any = ()) -> tuple[Any, ...]:
    return tuple(b_list(m, value))


def b_dict(m: Meter, value: Any = None) -> dict[Any, Any]:
    if value is None:
        m.alloc(1)
        return {}
    if type(value) is dict:
        size = _iterable_size(m, value, "dict")
        m.alloc(1 + size)
        return dict(value)
    size = _iterable_size(m, value, "dict")
    m.alloc(1 + size)
    out: dict[Any, Any] = {}
    for pair in value:
        if type(pair) not in (list, tuple) or len(pair) != 2:
            raise ContractRuntimeError("dict() needs (key, value) pairs")
        out[hashable_key(m, pair[0])] = pair[1]
    return out


def from_hex(m: Meter, text: Any) -> bytes:
    if type(text) is not str:
        raise ContractRuntimeError("bytes.fromhex() needs a str")
    try:
        r = bytes.fromhex(text)
    except ValueError:
        raise ContractRuntimeError("bytes.fromhex(): not hexadecimal") from None
    account_size(m, r)
    return r


#: Gas per 64-byte block hashed by sha256(), on top of the call itself.
SHA256_GAS_PER_BLOCK = 4


def b_sha256(m: Meter, data: Any) -> bytes:
    if type(data) is not bytes:
        raise ContractRuntimeError(f"sha256() needs bytes, not {type_name(data)}")
    m.charge(SHA256_GAS_PER_BLOCK * (1 + len(data) // 64))
    return hashlib.sha256(data).digest()


BUILTINS: dict[str, Callable[..., Any]] = {
    "len": b_len, "abs": b_abs, "min": b_min, "max": b_max, "range": b_range, "sorted": b_sorted,
    "reversed": b_reversed, "sum": b_sum, "any": b_any, "all": b_all, "enumerate": b_enumerate, "zip": b_zip,
    "divmod": b_divmod, "to-str": b_str, "to-int": b_int, "to-bool": b_bool, "to-bytes": b_bytes,
    "to-list": b_list, "to-tuple": b_tuple, "to-dict": b_dict, "from-hex": from_hex,
    "sha256": b_sha256,
}
