"""One-item-one-code issuance: random serials and scratch-off PINs, committed per batch by one Merkle root.

A brand issues a batch of items in one transaction that records only the
batch's Merkle root; any item is later shown genuine by its own proof. The
formats below are re-implemented by the contract on the chain, so they are
fixed byte for byte:

    serial      12 characters, uniformly random, alphabet ALPHABET (Crockford
                base32, all in GS1 character set 82), unique within the batch
    pin         10 characters from the same alphabet, printed under a
                scratch-off; only its hash enters the tree
    salt        16 random bytes per item, kept by the brand: a PIN has only
                50 bits, so without the salt anyone holding a revealed
                pin_hash could search all PINs offline
    pin_hash    sha256(b"trace-pin|" + gtin + b"|" + serial + b"|" + PIN.upper() + b"|" + salt)
    leaf        sha256(b"\\x00" + serial + b"|" + pin_hash)
    node        sha256(b"\\x01" + left + right)

A level with an odd number of nodes promotes its last node unchanged to the
next level; the root of one leaf is that leaf. A proof is the list of
(sibling hash, sibling is on the left) pairs from the leaf up; a promoted node
adds no step. `BatchTree.to_bytes()` is one blob (a 12-byte header, then every
level from the leaves up, 32 bytes a node, about 64 bytes an item) from which
`BatchTree.from_bytes(...).proof(i)` reads a proof in O(log n) without hashing.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import AnyStr

from apps.traceability.identifiers import Gtin, IdentifierError, parse_lot, parse_serial

#: Crockford base32: digits and capitals without I, L, O, U.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SERIAL_LENGTH = 12
PIN_LENGTH = 10
MAX_BATCH = 1_000_000
HASH_SIZE = 32
SALT_SIZE = 16

_MAGIC = b"TRB1"
_HEADER = len(_MAGIC) + 8  # magic, then the leaf count as an unsigned 64-bit big-endian integer
_PIN_PREFIX = b"trace-pin|"
_ALPHABET_SET = frozenset(ALPHABET)
# A random byte's low five bits pick a character: 256 is a multiple of 32, so every character is equally likely.
_TABLE = bytes(ALPHABET.encode("ascii")[b & 31] for b in range(256))
_random_bytes = secrets.token_bytes  # the only source of randomness (tests replace it to force collisions)
_sha256 = hashlib.sha256


class BatchError(IdentifierError):
    """A batch request or stored batch tree that cannot be used; `field` names which part."""

    def __reduce__(self) -> tuple[object, ...]:
        return type(self), (str(self), self.field)


@dataclass(frozen=True)
class BatchTree:
    """A batch's Merkle tree, held as the blob `to_bytes` returns."""

    data: bytes = field(repr=False)

    def __post_init__(self) -> None:
        data = self.data
        if not isinstance(data, bytes) or len(data) < _HEADER + HASH_SIZE or data[:len(_MAGIC)] != _MAGIC:
            raise BatchError("not a batch tree blob (bad header)", "tree")
        size = int.from_bytes(data[len(_MAGIC):_HEADER], "big")
        if size < 1 or len(data) != _HEADER + HASH_SIZE * _node_count(size):
            raise BatchError(f"batch tree blob of {len(data)} bytes does not hold a tree of {size} leaves", "tree")

    @classmethod
    def build(cls, leaves: Sequence[bytes]) -> BatchTree:
        """The tree over leaf hashes, in order."""
        leaves = list(leaves)
        if not leaves:
            raise BatchError("an empty batch has no tree", "leaves")
        if not all(isinstance(leaf, bytes) and len(leaf) == HASH_SIZE for leaf in leaves):
            raise BatchError(f"every leaf must be {HASH_SIZE} bytes", "leaves")
        return cls._from_leaf_blob(b"".join(leaves), len(leaves))

    @classmethod
    def _from_leaf_blob(cls, level: bytes, size: int) -> BatchTree:
        parts = [_MAGIC, size.to_bytes(8, "big"), level]
        sha = _sha256
        n = size
        while n > 1:
            pairs = n // 2
            upper = b"".join([sha(b"\x01" + level[i:i + 64]).digest() for i in range(0, 64 * pairs, 64)])
            if n & 1:
                upper += level[-HASH_SIZE:]
            parts.append(upper)
            level, n = upper, n - pairs
        return cls(b"".join(parts))

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> BatchTree:
        """A tree from `to_bytes` output (header and length checked, nothing rehashed)."""
        try:
            blob = bytes(data)
        except TypeError:
            raise BatchError("a batch tree blob must be bytes", "tree") from None
        return cls(blob)

    def to_bytes(self) -> bytes:
        """The whole tree as one blob."""
        return self.data

    @property
    def size(self) -> int:
        """The number of leaves (items)."""
        return int.from_bytes(self.data[len(_MAGIC):_HEADER], "big")

    @property
    def root(self) -> bytes:
        """The Merkle root committed on the chain."""
        return self.data[-HASH_SIZE:]

    def leaf(self, index: int) -> bytes:
        """The leaf hash of item `index`."""
        self._check_index(index)
        start = _HEADER + HASH_SIZE * index
        return self.data[start:start + HASH_SIZE]

    def proof(self, index: int) -> list[tuple[bytes, bool]]:
        """The (sibling hash, sibling is on the left) steps from leaf `index` up to the root."""
        n = self._check_index(index)
        data, offset, steps = self.data, _HEADER, []
        while n > 1:
            if index & 1:
                start = offset + HASH_SIZE * (index - 1)
                steps.append((data[start:start + HASH_SIZE], True))
            elif index + 1 < n:
                start = offset + HASH_SIZE * (index + 1)
                steps.append((data[start:start + HASH_SIZE], False))
            offset += HASH_SIZE * n
            index >>= 1
            n = (n + 1) // 2
        return steps

    def _check_index(self, index: int) -> int:
        size = self.size
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < size:
            raise BatchError(f"item index {index!r} is not in 0..{size - 1}", "index")
        return size


def _node_count(size: int) -> int:
    total = size
    while size > 1:
        size = (size + 1) // 2
        total += size
    return total


def verify_proof(leaf: bytes, proof: Sequence[tuple[bytes, bool]], root: bytes) -> bool:
    """True if the proof leads from the leaf hash to the root (a malformed proof is simply false)."""
    if not isinstance(leaf, bytes) or len(leaf) != HASH_SIZE or not isinstance(root, bytes) or len(root) != HASH_SIZE:
        return False
    node = leaf
    try:
        for sibling, sibling_is_left in proof:
            if not isinstance(sibling, bytes) or len(sibling) != HASH_SIZE or not isinstance(sibling_is_left, bool):
                return False
            node = _sha256(b"\x01" + sibling + node if sibling_is_left else b"\x01" + node + sibling).digest()
    except (TypeError, ValueError):
        return False
    return hmac.compare_digest(node, root)


def _check_count(count: int) -> int:
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_BATCH:
        raise BatchError(f"a batch has 1 to {MAX_BATCH:,} items, not {count!r}", "count")
    return count


def _random_text(count: int, length: int) -> str:
    return _random_bytes(count * length).translate(_TABLE).decode("ascii")


def _split(text: AnyStr, length: int) -> list[AnyStr]:
    return [text[i:i + length] for i in range(0, len(text), length)]


def new_serials(count: int) -> list[str]:
    """`count` distinct random serial numbers."""
    _check_count(count)
    serials = dict.fromkeys(_split(_random_text(count, SERIAL_LENGTH), SERIAL_LENGTH))
    while len(serials) < count:  # a collision (about 4e-7 for a million): draw replacements
        serials.update(dict.fromkeys(_split(_random_text(count - len(serials), SERIAL_LENGTH), SERIAL_LENGTH)))
    return list(serials)


def new_pin() -> str:
    """A random scratch-off PIN."""
    return _random_text(1, PIN_LENGTH)


def new_pins(count: int) -> list[str]:
    """`count` random scratch-off PINs (not necessarily distinct)."""
    _check_count(count)
    return _split(_random_text(count, PIN_LENGTH), PIN_LENGTH)


def _gtin14(gtin: str) -> str:
    if not isinstance(gtin, str):
        raise IdentifierError(f"GTIN must be a 14-digit string, got {type(gtin).__name__}", "gtin")
    return Gtin(gtin).digits


def pin_hash(gtin: str, serial: str, pin: str, salt: bytes) -> bytes:
    """The hash of an item's PIN, bound to its GTIN-14, serial and salt (the PIN's case does not matter)."""
    digits = _gtin14(gtin)
    parse_serial(serial)
    if not isinstance(pin, str) or len(pin) != PIN_LENGTH or not set(pin.upper()) <= _ALPHABET_SET:
        raise IdentifierError(f"a PIN is {PIN_LENGTH} characters from {ALPHABET}", "pin")
    if not isinstance(salt, bytes) or len(salt) != SALT_SIZE:
        raise IdentifierError(f"a PIN salt is {SALT_SIZE} bytes", "salt")
    return _sha256(_PIN_PREFIX + digits.encode() + b"|" + serial.encode() + b"|" + pin.upper().encode() + b"|"
                   + salt).digest()


def leaf_hash(serial: str, pin_hash: bytes) -> bytes:
    """An item's leaf in its batch tree."""
    parse_serial(serial)
    if not isinstance(pin_hash, bytes) or len(pin_hash) != HASH_SIZE:
        raise IdentifierError(f"a PIN hash is {HASH_SIZE} bytes", "pin_hash")
    return _sha256(b"\x00" + serial.encode() + b"|" + pin_hash).digest()


def item_leaf(gtin: str, serial: str, pin: str, salt: bytes) -> bytes:
    """The leaf an item's GTIN, serial, (consumer-entered) PIN and salt should have."""
    return leaf_hash(serial, pin_hash(gtin, serial, pin, salt))


@dataclass(frozen=True)
class IssuedBatch:
    """A batch as issued: item i is (serials[i], pins[i]), leaf i of the tree. Only `tree.root` goes on the chain."""

    gtin: str
    lot: str
    serials: tuple[str, ...] = field(repr=False)
    pins: tuple[str, ...] = field(repr=False)
    pin_hashes: tuple[bytes, ...] = field(repr=False)
    tree: BatchTree
    salts: tuple[bytes, ...] = field(default=(), repr=False)

    @property
    def size(self) -> int:
        """The number of items."""
        return len(self.serials)

    @property
    def root(self) -> bytes:
        """The batch's Merkle root."""
        return self.tree.root


def issue_batch(gtin: str, lot: str, count: int) -> IssuedBatch:
    """A new batch of `count` items: serials, PINs, PIN hashes and the tree over their leaves."""
    digits = _gtin14(gtin)
    if not isinstance(lot, str):
        raise IdentifierError("lot must be a string", "lot")
    parse_lot(lot)
    serials = new_serials(count)
    pin_text = _random_text(count, PIN_LENGTH)
    pins = _split(pin_text, PIN_LENGTH)
    serial_bytes = _split("".join(serials).encode("ascii"), SERIAL_LENGTH)
    prefix = _PIN_PREFIX + digits.encode() + b"|"
    sha = _sha256
    pin_bytes = _split(pin_text.encode("ascii"), PIN_LENGTH)
    salts = _split(secrets.token_bytes(SALT_SIZE * count), SALT_SIZE)
    pin_hashes = [sha(prefix + s + b"|" + p + b"|" + salt).digest() for s, p, salt in zip(serial_bytes, pin_bytes, salts)]
    leaves = b"".join([sha(b"\x00" + s + b"|" + h).digest() for s, h in zip(serial_bytes, pin_hashes)])
    tree = BatchTree._from_leaf_blob(leaves, count)
    return IssuedBatch(digits, lot, tuple(serials), tuple(pins), tuple(pin_hashes), tree, tuple(salts))
