"""Array-shaped schemas for frozen dataclasses: fields encoded positionally.

A protocol object is encoded as a CBOR array of its fields in declaration
order, so signed structures contain no maps and no field names: the bytes are
compact and their layout is fixed by the class definition. Reordering, adding
or removing a field therefore changes the wire format; treat field order as
part of the protocol.

Supported field annotations: ``int`` (64-bit CBOR range), ``bool``, ``str``,
``bytes``, an ``IntEnum`` subclass (encoded as its integer value), another
frozen dataclass (a nested array), ``tuple[T, ...]`` and fixed
``tuple[A, B, ...]`` of these (arrays), and ``T | None`` / ``Optional[T]``
(null). Types are checked exactly (a ``bool`` is not an ``int``); errors name the
field path, e.g. ``$.ops[1].value: expected bytes, got str``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

from chain.codec.decoder import decode
from chain.codec.encoder import _head, encode
from chain.codec.errors import DecodeError, EncodeError, ErrorCode
from chain.codec.limits import MAX_DEPTH, MAX_ITEMS, MAX_SIZE
from chain.codec.model import NINT_MIN, UINT_MAX, Value

T = TypeVar("T")


class _Mismatch(Exception):
    """Internal: a value does not fit the schema; path segments are added while unwinding."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.segments: list[str] = []

    @property
    def path(self) -> str:
        """The JSONPath-like location of the mismatch."""
        return "$" + "".join(reversed(self.segments))


def _got(value: object) -> str:
    """Name the type of a value for messages."""
    return type(value).__name__


class _Converter:
    """Maps one annotated Python type to data-model values and back."""

    def dump(self, value: object) -> Value:
        """Convert a Python attribute value to a data-model value."""
        raise NotImplementedError

    def load(self, value: object) -> object:
        """Convert a decoded data-model value to the annotated Python type."""
        raise NotImplementedError


class _Exact(_Converter):
    """``int``, ``bool``, ``str`` or ``bytes``, matched by exact type."""

    def __init__(self, tp: type) -> None:
        self.tp = tp

    def dump(self, value: object) -> Value:
        """Check the exact type (and the integer range) and pass the value through."""
        return self.load(value)  # type: ignore[return-value]

    def load(self, value: object) -> object:
        """Check the exact type (and the integer range)."""
        if type(value) is not self.tp:
            raise _Mismatch(f"expected {self.tp.__name__}, got {_got(value)}")
        if self.tp is int and not NINT_MIN <= value <= UINT_MAX:  # type: ignore[operator]
            raise _Mismatch("int out of range [-2**64, 2**64-1]")
        return value


class _IntEnum(_Converter):
    """An ``IntEnum`` subclass, carried as its integer value."""

    def __init__(self, tp: type[enum.IntEnum]) -> None:
        self.tp = tp

    def dump(self, value: object) -> Value:
        """Encode a member as its integer value."""
        if not isinstance(value, self.tp):
            raise _Mismatch(f"expected {self.tp.__name__}, got {_got(value)}")
        return int(value)

    def load(self, value: object) -> object:
        """Map an integer back to its member, refusing unknown values."""
        if type(value) is not int:
            raise _Mismatch(f"expected int ({self.tp.__name__}), got {_got(value)}")
        try:
            return self.tp(value)
        except ValueError:
            raise _Mismatch(f"{value} is not a valid {self.tp.__name__}") from None


class _Optional(_Converter):
    """``T | None``: null or the inner type."""

    def __init__(self, inner: _Converter) -> None:
        self.inner = inner

    def dump(self, value: object) -> Value:
        """Pass None through, convert anything else with the inner converter."""
        return None if value is None else self.inner.dump(value)

    def load(self, value: object) -> object:
        """Pass None through, convert anything else with the inner converter."""
        return None if value is None else self.inner.load(value)


def _items(value: object, expected: str) -> Sequence[object]:
    """Accept a decoded array (list) or a tuple, else refuse."""
    if type(value) is list or type(value) is tuple:
        return value
    raise _Mismatch(f"expected {expected}, got {_got(value)}")


def _convert_all(converters: Sequence[_Converter], values: Sequence[object], dumping: bool) -> list[Any]:
    """Apply converters pairwise, labelling a failure with its index."""
    out: list[Any] = []
    index = 0
    try:
        for index, (converter, item) in enumerate(zip(converters, values)):
            out.append(converter.dump(item) if dumping else converter.load(item))
    except _Mismatch as mismatch:
        mismatch.segments.append(f"[{index}]")
        raise
    return out


def _convert_each(converter: _Converter, values: Sequence[object], dumping: bool) -> list[Any]:
    """Apply one converter to every element, labelling a failure with its index."""
    convert = converter.dump if dumping else converter.load
    out: list[Any] = []
    index = 0
    try:
        for index, item in enumerate(values):
            out.append(convert(item))
    except _Mismatch as mismatch:
        mismatch.segments.append(f"[{index}]")
        raise
    return out


class _VarTuple(_Converter):
    """``tuple[T, ...]``: an array of any length."""

    def __init__(self, inner: _Converter) -> None:
        self.inner = inner

    def dump(self, value: object) -> Value:
        """Encode a tuple as an array."""
        if type(value) is not tuple:
            raise _Mismatch(f"expected tuple, got {_got(value)}")
        return _convert_each(self.inner, value, True)

    def load(self, value: object) -> object:
        """Decode an array into a tuple."""
        return tuple(_convert_each(self.inner, _items(value, "array"), False))


class _FixedTuple(_Converter):
    """``tuple[A, B, ...]``: an array of fixed length and per-position types."""

    def __init__(self, inners: tuple[_Converter, ...]) -> None:
        self.inners = inners

    def _check_length(self, items: Sequence[object]) -> None:
        """Refuse a sequence of the wrong length."""
        if len(items) != len(self.inners):
            raise _Mismatch(f"expected {len(self.inners)} items, got {len(items)}")

    def dump(self, value: object) -> Value:
        """Encode a tuple as an array."""
        if type(value) is not tuple:
            raise _Mismatch(f"expected tuple, got {_got(value)}")
        self._check_length(value)
        return _convert_all(self.inners, value, True)

    def load(self, value: object) -> object:
        """Decode an array into a tuple."""
        items = _items(value, "array")
        self._check_length(items)
        return tuple(_convert_all(self.inners, items, False))


class _Dataclass(_Converter):
    """A frozen dataclass as an array of its fields (resolved on first use, so classes may nest recursively)."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.resolved = False
        self.names: tuple[str, ...] = ()
        self.converters: tuple[_Converter, ...] = ()
        # Per field, the exact type that needs no conversion (bytes/str/bool), checked inline.
        self.inline: tuple[type | None, ...] = ()
        self.positional = True
        # (name, exact type, nullable) per field when every field is a scalar: see _encode_flat.
        self.flat: tuple[tuple[str, type, bool], ...] | None = None

    def resolve(self) -> None:
        """Resolve field names and converters (once)."""
        plan = _plan(self.cls)
        self.names = tuple(name for name, _ in plan)
        self.converters = tuple(converter for _, converter in plan)
        self.inline = tuple(c.tp if type(c) is _Exact and c.tp is not int else None for c in self.converters)
        self.positional = not any(field.kw_only for field in dataclasses.fields(self.cls))
        self.flat = _flat_fields(self.names, self.converters)
        self.resolved = True

    def dump(self, value: object) -> Value:
        """Encode the fields in declaration order."""
        if type(value) is not self.cls:
            raise _Mismatch(f"expected {self.cls.__name__}, got {_got(value)}")
        if not self.resolved:
            self.resolve()
        out: list[Any] = []
        name = ""
        try:
            for name, exact, converter in zip(self.names, self.inline, self.converters):
                item = getattr(value, name)
                out.append(item if exact is not None and type(item) is exact else converter.dump(item))
        except _Mismatch as mismatch:
            mismatch.segments.append(f".{name}")
            raise
        return out

    def load(self, value: object) -> object:
        """Build an instance from an array of field values (running the class's own validation)."""
        if not self.resolved:
            self.resolve()
        items = _items(value, f"array for {self.cls.__name__}")
        if len(items) != len(self.names):
            raise _Mismatch(f"expected {len(self.names)} fields for {self.cls.__name__}, got {len(items)}")
        args: list[object] = []
        name = ""
        try:
            for name, exact, converter, item in zip(self.names, self.inline, self.converters, items):
                args.append(item if exact is not None and type(item) is exact else converter.load(item))
        except _Mismatch as mismatch:
            mismatch.segments.append(f".{name}")
            raise
        try:
            if self.positional:
                return self.cls(*args)
            return self.cls(**dict(zip(self.names, args)))
        except (TypeError, ValueError) as exc:
            raise _Mismatch(f"{self.cls.__name__} rejected the fields: {exc}") from None


def _scalar_type(converter: _Converter) -> type | None:
    """The exact Python type of a scalar converter (int, bool, str, bytes or an IntEnum), else None."""
    if type(converter) is _Exact or type(converter) is _IntEnum:
        return converter.tp  # type: ignore[attr-defined, no-any-return]
    return None


def _flat_fields(names: tuple[str, ...], converters: tuple[_Converter, ...]) -> tuple[tuple[str, type, bool], ...] | None:
    """(name, exact type, nullable) per field if every field is a scalar or an optional scalar, else None."""
    fields = []
    for name, converter in zip(names, converters):
        nullable = type(converter) is _Optional
        tp = _scalar_type(converter.inner if nullable else converter)  # type: ignore[attr-defined]
        if tp is None:
            return None
        fields.append((name, tp, nullable))
    return tuple(fields)


def _encode_flat(obj: object, fields: tuple[tuple[str, type, bool], ...]) -> bytes | None:
    """The CBOR array of a record of scalar fields, written directly; None if a value is off the
    common path (wrong type, int out of range, unencodable text, too large): the generic path then
    encodes it or raises its precise error. Equal to encode(to_value(obj)) whenever it returns bytes."""
    out = bytearray()
    _head(out, 0x80, len(fields))
    for name, tp, nullable in fields:
        value = getattr(obj, name)
        t = type(value)
        if t is not tp:
            if value is None and nullable:
                out.append(0xF6)
                continue
            return None
        if t is bytes:
            _head(out, 0x40, len(value))
            out += value
        elif t is str:
            try:
                data = value.encode("utf-8")
            except UnicodeEncodeError:
                return None
            _head(out, 0x60, len(data))
            out += data
        elif t is bool:
            out.append(0xF5 if value else 0xF4)
        else:  # int or an IntEnum member, carried as its integer value
            number = int(value)
            if 0 <= number <= UINT_MAX:
                _head(out, 0x00, number)
            elif NINT_MIN <= number < 0:
                _head(out, 0x20, -1 - number)
            else:
                return None
    return bytes(out) if len(out) <= MAX_SIZE else None


def _converter(tp: object, where: str) -> _Converter:
    """Build the converter for one annotation, or raise TypeError naming the field."""
    if tp in (int, bool, str, bytes):
        return _Exact(tp)
    if isinstance(tp, type) and issubclass(tp, enum.IntEnum):
        return _IntEnum(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _root(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        rest = [arg for arg in args if arg is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            return _Optional(_converter(rest[0], where))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _VarTuple(_converter(args[0], where))
        if args == ((),):  # tuple[()]
            return _FixedTuple(())
        return _FixedTuple(tuple(_converter(arg, where) for arg in args))
    raise TypeError(f"{where}: unsupported annotation {tp!r} for an array schema")


def _check_class(cls: type) -> None:
    """Refuse classes that cannot have an array schema."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{cls!r} is not a dataclass")
    if not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__} must be a frozen dataclass to have an array schema")


@functools.cache
def _plan(cls: type) -> tuple[tuple[str, _Converter], ...]:
    """Resolve and cache the (field name, converter) list of a dataclass."""
    _check_class(cls)
    hints = typing.get_type_hints(cls)
    plan = []
    for field in dataclasses.fields(cls):
        if not field.init:
            raise TypeError(f"{cls.__name__}.{field.name}: init=False fields cannot be decoded")
        plan.append((field.name, _converter(hints[field.name], f"{cls.__name__}.{field.name}")))
    return tuple(plan)


_ROOTS: dict[type, _Dataclass] = {}


def _root(cls: type) -> _Dataclass:
    """The cached converter of a schema class (shared by every field that nests it)."""
    root = _ROOTS.get(cls)
    if root is None:
        _check_class(cls)
        root = _ROOTS.setdefault(cls, _Dataclass(cls))
    return root


def to_value(obj: object) -> list[Value]:
    """Convert a frozen dataclass instance to its array-shaped data-model value."""
    root = _root(type(obj))
    try:
        return root.dump(obj)  # type: ignore[return-value]
    except _Mismatch as mismatch:
        raise EncodeError(ErrorCode.SCHEMA_MISMATCH, mismatch.detail, path=mismatch.path) from None


def from_value(cls: type[T], value: object) -> T:
    """Build an instance of the frozen dataclass ``cls`` from a decoded array value."""
    root = _root(cls)
    try:
        return root.load(value)  # type: ignore[return-value]
    except _Mismatch as mismatch:
        raise DecodeError(ErrorCode.SCHEMA_MISMATCH, mismatch.detail, path=mismatch.path) from None


def to_cbor(obj: object) -> bytes:
    """Encode a frozen dataclass instance as a deterministic CBOR array of its fields."""
    root = _root(type(obj))
    if not root.resolved:
        root.resolve()
    if root.flat is not None:
        encoded = _encode_flat(obj, root.flat)
        if encoded is not None:
            return encoded
    return encode(to_value(obj))


def from_cbor(
    cls: type[T],
    data: bytes | bytearray | memoryview,
    *,
    max_size: int = MAX_SIZE,
    max_depth: int = MAX_DEPTH,
    max_items: int = MAX_ITEMS,
) -> T:
    """Decode canonical bytes into an instance of the frozen dataclass ``cls``."""
    _root(cls)
    return from_value(cls, decode(data, max_size=max_size, max_depth=max_depth, max_items=max_items))
