"""Hypothesis strategies shared by the whole test suite; one section per subsystem.

Import as ``from tests.strategies import cbor_values``. Add new strategies in
their own section rather than redefining similar ones in test modules.
"""

from __future__ import annotations

from hypothesis import strategies as st

# --- chain.codec: the deterministic CBOR data model -------------------------

#: Smallest and largest integers the codec accepts (64-bit CBOR range).
CBOR_INT_MIN = -(2**64)
CBOR_INT_MAX = 2**64 - 1

#: Integers just around every argument-width boundary, positive and negative.
_INT_BOUNDARIES = sorted(
    {
        edge + delta
        for base in (24, 2**8, 2**16, 2**32, 2**64)
        for edge in (base, -base - 1)
        for delta in (-1, 0)
        if CBOR_INT_MIN <= edge + delta <= CBOR_INT_MAX
    }
    | {0, -1, CBOR_INT_MIN, CBOR_INT_MAX}
)


def cbor_ints() -> st.SearchStrategy[int]:
    """Integers in the codec's range, biased towards encoding-width boundaries."""
    return st.one_of(
        st.sampled_from(_INT_BOUNDARIES),
        st.integers(min_value=-30, max_value=30),
        st.integers(min_value=CBOR_INT_MIN, max_value=CBOR_INT_MAX),
    )


def cbor_texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Text strings of valid Unicode scalar values (no lone surrogates)."""
    return st.text(st.characters(codec="utf-8"), max_size=max_size)


def cbor_keys() -> st.SearchStrategy[int | str | bytes]:
    """Map keys the codec allows: int, text or bytes."""
    return st.one_of(cbor_ints(), cbor_texts(max_size=12), st.binary(max_size=12))


def cbor_scalars() -> st.SearchStrategy[object]:
    """Non-container values of the data model."""
    return st.one_of(
        cbor_ints(),
        st.binary(max_size=40),
        cbor_texts(),
        st.booleans(),
        st.none(),
    )


def cbor_values(max_leaves: int = 20) -> st.SearchStrategy[object]:
    """Any value of the codec's data model; arrays are lists (what ``decode`` returns)."""
    return st.recursive(
        cbor_scalars(),
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(cbor_keys(), children, max_size=5),
        ),
        max_leaves=max_leaves,
    )


def cbor_maps(min_size: int = 1) -> st.SearchStrategy[dict[int | str | bytes, object]]:
    """Maps with at least ``min_size`` entries whose values are scalars or shallow containers.

    Cheaper to generate than ``st.dictionaries(cbor_keys(), cbor_values())`` while
    still nesting maps inside maps, which is what map-focused tests need.
    """
    shallow = st.one_of(
        cbor_scalars(),
        st.lists(cbor_scalars(), max_size=3),
        st.dictionaries(cbor_keys(), cbor_scalars(), max_size=3),
    )
    return st.dictionaries(cbor_keys(), shallow, min_size=min_size, max_size=5)


def cbor_containers(max_leaves: int = 10) -> st.SearchStrategy[object]:
    """Arrays and maps of the data model (a non-scalar top level)."""
    return st.one_of(st.lists(cbor_values(max_leaves), min_size=1, max_size=4), cbor_maps(min_size=1))


# --- chain.ledger: validator membership -------------------------------------

#: What one step of a membership scenario does (see tests/chain/ledger/test_membership.py).
MEMBERSHIP_STEPS = ("register", "freeze", "revoke", "activate", "approve", "empty")


def membership_scenarios(nodes: int, endorsers: int, max_steps: int = 8) -> st.SearchStrategy[list[tuple[str, int, tuple[int, ...]]]]:
    """Steps (kind, node index, endorser indexes, non-empty and distinct) over `nodes` nodes and `endorsers` admins."""
    step = st.tuples(
        st.sampled_from(MEMBERSHIP_STEPS),
        st.integers(min_value=0, max_value=nodes - 1),
        st.lists(st.integers(min_value=0, max_value=endorsers - 1), min_size=1, max_size=endorsers, unique=True).map(tuple),
    )
    return st.lists(step, min_size=1, max_size=max_steps)
