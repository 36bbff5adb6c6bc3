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


# --- chain.contracts: generated contracts and their inputs --------------------

_TERMS = ["a", "b", "x", "len(s)", "m[a % 5]", "m[s]", "0", "1", "7", "-3", "2**70"]


def _term() -> st.SearchStrategy[str]:
    return st.sampled_from(_TERMS)


def _contract_statement() -> st.SearchStrategy[str]:
    """One statement (possibly a two-line block) over the locals a, b, s, x, the map m and the event E."""
    op = st.sampled_from(["+", "-", "*"])
    safe_div = st.sampled_from(["//", "%"])
    return st.one_of(
        st.builds(lambda t, o: f"x = x {o} {t}", _term(), op),
        st.builds(lambda t, o: f"x = x {o} (abs({t}) + 1)", _term(), safe_div),
        st.builds(lambda k, t: f"m[{k}] = {t}", st.sampled_from(["a % 5", "s", "x % 3"]), _term()),
        st.builds(lambda t, u: f"if {t} > {u}:\n        x = x + 1\n    else:\n        x = x - {u}", _term(), _term()),
        st.builds(lambda n, t: f"for i in range({n}):\n        x = x + i * {t}", st.integers(0, 6), _term()),
        st.builds(lambda t: f"l = [a, b, {t}]\n    l.append(x)\n    x = x + sum(l) + len(sorted(l))", _term()),
        st.builds(lambda t: f"d = {{s: a, 'k': {t}}}\n    d[str(b)] = x\n    x = x + len(d) + len(list(d.keys()))", _term()),
        st.builds(lambda t: f"emit(E, k=s, v={t})", _term()),
        st.builds(lambda c: f"require(x % 11 != {c}, \"unlucky\")", st.integers(0, 10)),
        st.just("x = x ** 3"),
        st.just("s = s + str(x % 1000)"),
        st.just("if (a % 5) in m:\n        del m[a % 5]"),
    )


def contract_sources(max_statements: int = 8) -> st.SearchStrategy[str]:
    """A contract in the dialect with one public function `run(a: int, b: int, s: str) -> int` of random statements."""
    header = (
        'from contract import Map, emit, event, require\n\n'
        'm = Map("m", default=0)\nE = event("k", "v")\n\n\n'
        "def run(a: int, b: int, s: str) -> int:\n    x = a\n"
    )
    return st.lists(_contract_statement(), min_size=1, max_size=max_statements).map(
        lambda stmts: header + "".join(f"    {s}\n" for s in stmts) + "    return x\n"
    )


def contract_inputs(max_calls: int = 6) -> st.SearchStrategy[list[tuple[int, int, str]]]:
    """Arguments for successive calls of `run`."""
    return st.lists(
        st.tuples(st.integers(-(2**80), 2**80), st.integers(-100, 100), st.text("abcxyz", max_size=6)),
        min_size=1, max_size=max_calls,
    )


def contract_values(max_leaves: int = 20) -> st.SearchStrategy[object]:
    """Contract values (chain.contracts.values): integers well past 64 bits (CBOR bignums), text, bytes, bools,
    None, lists and dicts keyed by int, str or bytes; decoded arrays are lists, so tuples are not generated."""
    wide = st.one_of(
        st.integers(min_value=-(2**64) - 2, max_value=2**64 + 2),
        st.integers(min_value=-(2**1024), max_value=2**1024),
        st.sampled_from([2**64 - 1, 2**64, -(2**64), -(2**64) - 1, 2**63, -(2**63) - 1]),
    )
    keys = st.one_of(wide, cbor_texts(max_size=8), st.binary(max_size=8))
    scalars = st.one_of(wide, cbor_texts(), st.binary(max_size=40), st.booleans(), st.none())
    return st.recursive(
        scalars,
        lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=5)),
        max_leaves=max_leaves,
    )
