"""Methods callable on contract values, dispatched on the receiver's exact type."""
from __future__ import annotations

from typing import Any, Callable

from chain.contracts.errors import ContractRuntimeError
from chain.contracts.values import type_name
from chain.contracts.vm.meter import Meter
from chain.contracts.vm.ops import (
    account_size,
    check_depth,
    hashable_key,
    show,
    too_big,
)


def _list_append(m: Meter, obj: list[Any], value: Any) -> None:
    if len(obj) >= m.limits.max_items:
        raise too_big("list")
    m.alloc(1)
    obj.append(value)


def _list_pop(m: Meter, obj: list[Any], *args: Any) -> Any:
    if not obj:
        raise ContractRuntimeError("pop() from an empty list")
    if args:
        i = args[0]
        if type(i) is not int or not -len(obj) <= i < len(obj):
            raise ContractRuntimeError(f"pop() index {show(i)} is out of range")
        m.charge(len(obj))
        return obj.pop(i)
    return obj.pop()


def _list_insert(m: Meter, obj: list[Any], i: Any, value: Any) -> None:
    if type(i) is not int:
        raise ContractRuntimeError("insert() needs an integer position")
    if len(obj) >= m.limits.max_items:
        raise too_big("list")
    m.alloc(1)
    m.charge(len(obj))
    obj.insert(i, value)


def _list_extend(m: Meter, obj: list[Any], other: Any) -> None:
    if type(other) not in (list, tuple):
        raise ContractRuntimeError(f"extend() needs a list or tuple, not {type_name(other)}")
    if len(obj) + len(other) > m.limits.max_items:
        raise too_big("list")
    m.alloc(len(other))
    obj.extend(other)


def _paid_search(m: Meter, obj: Any, value: Any) -> None:
    """Pay for comparing `value` with every item of `obj`: by its size when that is what each comparison costs."""
    tv = type(value)
    if type(obj) is str or type(obj) is bytes:
        m.charge(len(obj))
    elif tv is list or tv is tuple or tv is dict:
        m.charge(len(obj))
        check_depth(m, value)
        check_depth(m, obj)
    else:
        m.charge(len(obj) * (1 + (len(value) >> 10 if tv is str or tv is bytes else 0)))


def _seq_index(m: Meter, obj: Any, value: Any) -> int:
    _paid_search(m, obj, value)
    if value not in obj:
        raise ContractRuntimeError(f"{show(value)} is not in the {type_name(obj)}")
    return obj.index(value)  # type: ignore[no-any-return]


def _seq_count(m: Meter, obj: Any, value: Any) -> int:
    _paid_search(m, obj, value)
    return obj.count(value)  # type: ignore[no-any-return]


def _list_reverse(m: Meter, obj: list[Any]) -> None:
    m.charge(len(obj))
    obj.reverse()


def _copy(m: Meter, obj: Any) -> Any:
    account_size(m, obj)
    return obj.copy()


def _dict_get(m: Meter, obj: dict[Any, Any], key: Any, default: Any = None) -> Any:
    return obj.get(hashable_key(m, key), default)


def _dict_view(kind: str) -> Callable[[Meter, dict[Any, Any]], list[Any]]:
    def view(m: Meter, obj: dict[Any, Any]) -> list[Any]:
        m.alloc(1 + len(obj) * (2 if kind == "items" else 1))
        return list(getattr(obj, kind)())

    return view


def _dict_pop(m: Meter, obj: dict[Any, Any], *args: Any) -> Any:
    key = hashable_key(m, args[0]) if args else None
    if not args:
        raise ContractRuntimeError("dict.pop() needs a key")
    if key not in obj:
        if len(args) == 2:
            return args[1]
        raise ContractRuntimeError(f"key {show(key)} is not in the dict")
    return obj.pop(key)


def _dict_setdefault(m: Meter, obj: dict[Any, Any], key: Any, default: Any) -> Any:
    hashable_key(m, key)
    if key not in obj:
        if len(obj) >= m.limits.max_items:
            raise too_big("dict")
        m.alloc(1)
    return obj.setdefault(key, default)


def _dict_update(m: Meter, obj: dict[Any, Any], other: Any) -> None:
    if type(other) is not dict:
        raise ContractRuntimeError(f"update() needs a dict, not {type_name(other)}")
    if len(obj) + len(other) > m.limits.max_items:
        raise too_big("dict")
    m.alloc(len(other))
    obj.update(other)


def _text_arg(value: Any, obj: Any, what: str) -> Any:
    if type(value) is not type(obj):
        raise ContractRuntimeError(f"{what}() needs a {type_name(obj)} argument, not {type_name(value)}")
    return value


def _startswith(m: Meter, obj: Any, prefix: Any) -> bool:
    m.charge(len(_text_arg(prefix, obj, "startswith")) >> 10)
    return obj.startswith(prefix)  # type: ignore[no-any-return]


def _endswith(m: Meter, obj: Any, suffix: Any) -> bool:
    m.charge(len(_text_arg(suffix, obj, "endswith")) >> 10)
    return obj.endswith(suffix)  # type: ignore[no-any-return]


def _split(m: Meter, obj: Any, *args: Any) -> list[Any]:
    sep = args[0] if args else None
    if sep is not None:
        _text_arg(sep, obj, "split")
        if not sep:
            raise ContractRuntimeError("split() separator is empty")
    limit = args[1] if len(args) > 1 else -1
    if type(limit) is not int:
        raise ContractRuntimeError("split() limit must be an integer")
    m.charge(len(obj) >> 4)
    parts = obj.split(sep, limit)
    if len(parts) > m.limits.max_items:
        raise too_big("split() result")
    m.alloc(1 + len(parts) + len(obj) // 16)
    return parts  # type: ignore[no-any-return]


def _join(m: Meter, obj: Any, items: Any) -> Any:
    if type(items) not in (list, tuple):
        raise ContractRuntimeError(f"join() needs a list or tuple, not {type_name(items)}")
    total = len(obj) * max(0, len(items) - 1)
    for item in items:
        _text_arg(item, obj, "join")
        total += len(item)
    if total > m.limits.max_bytes:
        raise too_big("joined text")
    r = obj.join(items)
    account_size(m, r)
    return r


def _upper(m: Meter, obj: Any) -> Any:
    r = obj.upper()
    account_size(m, r)
    return r


def _lower(m: Meter, obj: Any) -> Any:
    r = obj.lower()
    account_size(m, r)
    return r


def _strip(m: Meter, obj: Any, *args: Any) -> Any:
    if args:
        _text_arg(args[0], obj, "strip")
    m.charge(len(obj) >> 4)
    r = obj.strip(*args)
    account_size(m, r)
    return r


def _replace(m: Meter, obj: Any, old: Any, new: Any) -> Any:
    _text_arg(old, obj, "replace")
    _text_arg(new, obj, "replace")
    if not old:
        raise ContractRuntimeError("replace() of an empty string is not allowed")
    m.charge(len(obj) // 16)
    if len(obj) + obj.count(old) * max(0, len(new) - len(old)) > m.limits.max_bytes:
        raise too_big("replaced text")
    r = obj.replace(old, new)
    account_size(m, r)
    return r


def _find(m: Meter, obj: Any, sub: Any) -> int:
    m.charge(len(obj) >> 4)
    return obj.find(_text_arg(sub, obj, "find"))  # type: ignore[no-any-return]


def _encode(m: Meter, obj: str) -> bytes:
    r = obj.encode("utf-8")
    account_size(m, r)
    return r


def _decode(m: Meter, obj: bytes) -> str:
    try:
        r = obj.decode("utf-8")
    except UnicodeDecodeError:
        raise ContractRuntimeError("decode(): bytes are not UTF-8") from None
    account_size(m, r)
    return r


def _hex(m: Meter, obj: bytes) -> str:
    r = obj.hex()
    account_size(m, r)
    return r


def _isdigit(m: Meter, obj: str) -> bool:
    m.charge(len(obj) >> 4)
    return obj.isascii() and obj.isdigit()


_SEQ: dict[str, Callable[..., Any]] = {"index": _seq_index, "count": _seq_count}
_TEXT: dict[str, Callable[..., Any]] = {"startswith": _startswith, "endswith": _endswith, "split": _split, "join": _join, "upper": _upper,
         "lower": _lower, "strip": _strip, "replace": _replace, "find": _find, "count": _seq_count}

METHODS: dict[type, dict[str, Callable[..., Any]]] = {
    list: {"append": _list_append, "pop": _list_pop, "insert": _list_insert, "extend": _list_extend,
           "reverse": _list_reverse, "copy": _copy, **_SEQ},
    tuple: dict(_SEQ),
    dict: {"get": _dict_get, "keys": _dict_view("keys"), "values": _dict_view("values"), "items": _dict_view("items"),
           "pop": _dict_pop, "setdefault": _dict_setdefault, "update": _dict_update, "copy": _copy},
    str: {**_TEXT, "encode": _encode, "isdigit": _isdigit},
    bytes: {**_TEXT, "decode": _decode, "hex": _hex},
}


def call_method(m: Meter, name: str, obj: Any, args: list[Any]) -> Any:
    """Call a whitelisted method on a value."""
    table = METHODS.get(type(obj))
    method = table.get(name) if table is not None else None
    if method is None:
        raise ContractRuntimeError(f"{type_name(obj)} has no method {name}()")
    return method(m, obj, *args)
