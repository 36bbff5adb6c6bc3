"""Generated contracts give identical outcomes everywhere: in independent Sandboxes, from freshly parsed IR,
and in processes with other hash seeds.

The grammar below writes small contracts (integer, text, list and dict
expressions, bounded loops, storage, events, refusals) as hypothesis
strategies; each generated contract is run with generated inputs and every
observable result is compared: values, errors, gas, events and storage.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.contracts import LimitExceeded, compile_source, encode_value, load_program
from chain.contracts.sandbox import Sandbox

#: Enough for every generated program's real work; runaway loops end here quickly (and identically).
GAS_LIMIT = 60_000

# --- the grammar --------------------------------------------------------------------------------------------------

_word = st.text("abcxyz é", max_size=4).map(repr)


def _ints(depth: int) -> st.SearchStrategy[str]:
    base = st.one_of(
        st.integers(-50, 50).map(str),
        st.sampled_from(["2**70", "-(2**65)", "10**20", "i0", "i1", "a", "len(s0)", "len(l0)", "len(d0)", "m[i0 % 3]"]),
    )
    if depth == 0:
        return base
    sub = _ints(depth - 1)
    return st.one_of(
        base,
        st.builds(lambda x, op, y: f"({x} {op} {y})", sub, st.sampled_from(["+", "-", "*", "&", "|", "^"]), sub),
        st.builds(lambda x, op, y: f"({x} {op} (abs({y}) + 1))", sub, st.sampled_from(["//", "%"]), sub),
        st.builds(lambda x, k: f"({x} ** {k})", sub, st.integers(0, 3)),
        st.builds(lambda x, op, k: f"({x} {op} {k})", sub, st.sampled_from(["<<", ">>"]), st.integers(0, 70)),
        st.builds(lambda x, y: f"{x}({y})", st.sampled_from(["abs", "int", "len"]), sub.map(lambda e: f"str({e})")),
        st.builds(lambda x, y: f"min({x}, {y})", sub, sub),
        st.builds(lambda x: f"sum({x})", _lists(depth - 1)),
        st.builds(lambda c, x, y: f"({x} if {c} else {y})", _bools(depth - 1), sub, sub),
        st.builds(lambda s: f"len({s})", _strs(depth - 1)),
        st.builds(lambda k, x: f"d0.get({k}, {x})", _word, sub),
        st.builds(lambda l, x: f"{l}[{x} % 4]", _lists(depth - 1), sub),
        st.builds(lambda l, x: f"{l}.count({x})", _lists(depth - 1), sub),
    )


def _bools(depth: int) -> st.SearchStrategy[str]:
    base = st.sampled_from(["True", "False", "(i0 > i1)", "(s0 == b)", "(len(l0) > 3)", "('x' in d0)", "(i0 in l0)"])
    if depth == 0:
        return base
    ints, strs = _ints(depth - 1), _strs(depth - 1)
    return st.one_of(
        base,
        st.builds(lambda x, op, y: f"({x} {op} {y})", ints, st.sampled_from(["<", "<=", "==", "!=", ">"]), ints),
        st.builds(lambda s, t: f"({s} < {t})", strs, strs),
        st.builds(lambda s, t: f"({s} in {t})", strs, strs),
        st.builds(lambda c, d, op: f"({c} {op} {d})", _bools(depth - 1), _bools(depth - 1), st.sampled_from(["and", "or"])),
        st.builds(lambda c: f"(not {c})", _bools(depth - 1)),
        st.builds(lambda s, t: f"{s}.startswith({t})", strs, strs),
    )


def _strs(depth: int) -> st.SearchStrategy[str]:
    base = st.one_of(_word, st.sampled_from(["s0", "b"]))
    if depth == 0:
        return base
    sub, ints = _strs(depth - 1), _ints(depth - 1)
    return st.one_of(
        base,
        st.builds(lambda s, t: f"({s} + {t})", sub, sub),
        st.builds(lambda x: f"str({x})", ints),
        st.builds(lambda s, x: f'f"{{{s}}}-{{{x}}}"', sub, ints),
        st.builds(lambda s, m: f"{s}.{m}()", sub, st.sampled_from(["upper", "lower", "strip"])),
        st.builds(lambda s, x: f"{s}[{x} % 5:]", sub, ints),
        st.builds(lambda s: f"{s}.replace('a', 'bb')", sub),
        st.builds(lambda s, t: f"'-'.join([{s}, {t}])", sub, sub),
        st.builds(lambda s, x: f"({s} * ({x} % 4))", sub, ints),
        st.builds(lambda l: f"','.join(sorted(d0))" if l else "''.join(list(d0.keys()))", st.booleans()),
    )


def _lists(depth: int) -> st.SearchStrategy[str]:
    base = st.sampled_from(["l0", "[]", "[1, 2, 3]", "list(d0.values())"])
    if depth == 0:
        return base
    sub, ints = _lists(depth - 1), _ints(depth - 1)
    return st.one_of(
        base,
        st.builds(lambda x, y: f"[{x}, {y}]", ints, ints),
        st.builds(lambda l, x: f"({l} + [{x}])", sub, ints),
        st.builds(lambda l: f"sorted({l})", sub),
        st.builds(lambda x: f"list(range({x} % 6))", ints),
        st.builds(lambda l, x: f"[v * {x} for v in {l} if v % 2 == 0]", sub, ints),
        st.builds(lambda l: f"{l}[1:]", sub),
        st.builds(lambda l: f"[n for n, w in enumerate({l})]", sub),
    )


def _dicts(depth: int) -> st.SearchStrategy[str]:
    ints, strs = _ints(depth), _strs(depth)
    return st.one_of(
        st.just("d0"),
        st.builds(lambda s, x: f"{{{s}: {x}}}", strs, ints),
        st.builds(lambda x: f"{{k: v + 1 for k, v in d0.items() if v > {x}}}", ints),
        st.builds(lambda s, t, x, y: f"dict(zip([{s}, {t}], [{x}, {y}]))", strs, strs, ints, ints),
    )


Lines = list[tuple[int, str]]


def _simple_statements() -> st.SearchStrategy[Lines]:
    ints, strs, bools = _ints(2), _strs(1), _bools(1)
    return st.one_of(
        st.builds(lambda v, e: [(0, f"{v} = {e}")], st.sampled_from(["i0", "i1"]), ints),
        st.builds(lambda e: [(0, f"i0 += {e}")], ints),
        st.builds(lambda e: [(0, f"s0 = {e}")], strs),
        st.builds(lambda e: [(0, f"l0 = {e}")], _lists(2)),
        st.builds(lambda e: [(0, f"d0 = {e}")], _dicts(1)),
        st.builds(lambda e: [(0, f"l0.append({e})")], ints),
        st.builds(lambda k, e: [(0, f"d0[{k}] = {e}")], strs, ints),
        st.builds(lambda k, e: [(0, f"m[{k} % 5] = {e}")], ints, ints),
        st.builds(lambda k: [(0, f"m[{k}] += 1")], strs),
        st.builds(lambda s, e: [(0, f"emit(E, k={s}, v={e})")], strs, ints),
        st.builds(lambda c: [(0, f"require({c}, 'refused')")], bools),
        st.builds(lambda k: [(0, f"k = {k}"), (0, "if k in d0:"), (1, "del d0[k]")], strs),
        st.builds(lambda x, y: [(0, f"i0, i1 = {x}, {y}")], ints, ints),
    )


def _blocks(depth: int, in_loop: bool) -> st.SearchStrategy[Lines]:
    simple = _simple_statements()
    if in_loop:
        simple = st.one_of(simple, st.builds(lambda c, w: [(0, f"if {c}:"), (1, w)], _bools(1), st.sampled_from(["break", "continue"])))
    if depth == 0:
        return st.lists(simple, min_size=1, max_size=3).map(lambda parts: [line for p in parts for line in p])
    inner, loop_inner = _blocks(depth - 1, in_loop), _blocks(depth - 1, True)

    def indent(lines: Lines) -> Lines:
        return [(level + 1, text) for level, text in lines]

    compound = st.one_of(
        st.builds(lambda c, a, b: [(0, f"if {c}:"), *indent(a), (0, "else:"), *indent(b)], _bools(1), inner, inner),
        st.builds(lambda x, body: [(0, f"for j in range({x} % 5):"), *indent(body)], _ints(1), loop_inner),
        st.builds(lambda l, body: [(0, f"for j in {l}:"), *indent(body)], _lists(1), loop_inner),
        st.builds(lambda n, body: [(0, "w = 0"), (0, f"while w < {n}:"), (1, "w += 1"), *indent(body)],
                  st.integers(0, 4), loop_inner),
    )
    return st.lists(st.one_of(simple, compound), min_size=1, max_size=3).map(lambda parts: [line for p in parts for line in p])


HEADER = '''from contract import Map, emit, event, require

m = Map("m", default=0)
E = event("k", "v")


def run(a: int, b: str) -> list:
    i0 = a
    i1 = 0
    s0 = b
    l0 = [1, 2, 3]
    d0 = {"x": 1}
'''

contracts = _blocks(2, False).map(
    lambda lines: HEADER + "".join("    " * (level + 1) + text + "\n" for level, text in lines)
    + "    return [i0, i1, s0, l0, d0]\n"
)
inputs = st.lists(st.tuples(st.integers(-(2**70), 2**70), st.text("abcxyz", max_size=5)), min_size=1, max_size=3)


# --- running and comparing ----------------------------------------------------------------------------------------


def _observe(sandbox: Sandbox, calls: list[tuple[int, str]]) -> dict[str, Any]:
    """Everything an invocation sequence shows the outside world, in comparable form."""
    results = []
    for a, b in calls:
        outcome = sandbox.invoke("c", "run", a, b, gas_limit=GAS_LIMIT)
        error = outcome.error
        results.append((
            outcome.result, outcome.gas_used, [(c, n, encode_value(p)) for c, n, p in outcome.events],
            None if error is None else (type(error).__name__, error.code, str(error), getattr(error, "limit", None)),
        ))
    return {"results": results, "storage": dict(sandbox.storage), "events": list(sandbox.events), "data": dict(sandbox.data)}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(contracts, inputs)
def test_generated_contracts_give_identical_outcomes_in_independent_sandboxes(source: str, calls: list[tuple[int, str]]) -> None:
    ir = compile_source(source, "generated.py")
    assert compile_source(source, "generated.py") == ir  # compiling is deterministic too
    code = ir.encode()

    first = Sandbox()
    first.deploy("c", code)
    expected = _observe(first, calls)

    load_program.cache_clear()  # the second program is parsed and built from the text again
    second = Sandbox()
    second.deploy("c", code)
    assert second.programs["c"] is not first.programs["c"]
    assert _observe(second, calls) == expected

    third = Sandbox()
    third.deploy("c", source)  # and once more from source
    assert _observe(third, calls) == expected
    for _, gas, _, error in expected["results"]:
        assert 0 < gas <= GAS_LIMIT
        assert error is None or error[0] in ("ContractFailure", "ContractRuntimeError", "LimitExceeded")


# --- other hash seeds ---------------------------------------------------------------------------------------------

#: Programs whose results go through every hash-ordered structure the host has (dict keys of str, bytes, tuples;
#: sorting; storage keys; events), run in fresh processes with different PYTHONHASHSEED values.
SEED_PROGRAMS = [
    '''
from contract import Map, emit, event

m = Map("m", default=0)
E = event("k", "v")


def run(a: int, b: str) -> list:
    texts = {}
    pairs = {}
    raw = {}
    for i in range(40):
        texts[f"{b}{i * a}"] = i
        pairs[(b, i % 7)] = str(i)
        raw[str(i).encode()] = [i]
    m[b] = len(texts)
    m[(b, a)] = list(pairs)[:5]
    emit(E, k=b, v=sorted(texts)[:3])
    return [list(texts), list(pairs.items()), list(raw), sorted(raw)[:3], {k: v for k, v in raw.items() if v == [3]}]
''',
    '''
def run(a: int, b: str) -> list:
    words = (b * 3).split("a")
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    return [counts, sorted(counts), max(counts) if counts else "", list(zip(counts, range(100)))]
''',
]
_SEED_WORKER = '''
import json, sys
from chain.contracts import encode_value
from chain.contracts.sandbox import Sandbox
programs = json.loads(sys.stdin.read())
out = []
for source in programs:
    sandbox = Sandbox()
    sandbox.deploy("c", source)
    results = []
    for a, b in [(3, "abc"), (-(2**70), "a a"), (0, "")]:
        o = sandbox.invoke("c", "run", a, b)
        results.append([o.result.hex(), o.gas_used, repr(o.error), [[c, n, encode_value(p).hex()] for c, n, p in o.events]])
    storage = sorted([c, k.hex(), v.hex()] for (c, k), v in sandbox.storage.items())
    out.append([results, storage, [[c, n, p.hex()] for c, n, p in sandbox.events]])
print(json.dumps(out))
'''


def _run_with_hash_seed(seed: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", _SEED_WORKER], input=json.dumps(SEED_PROGRAMS), capture_output=True, text=True,
        timeout=120, env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}, cwd=Path(__file__).resolve().parents[3],
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_outcomes_do_not_depend_on_the_hash_seed() -> None:
    first = _run_with_hash_seed("1")
    assert first == _run_with_hash_seed("2024")
    assert all(result[2] == "None" for program in first for result in program[0])


def test_a_runaway_generated_loop_ends_identically_on_gas() -> None:
    source = HEADER + "    while i1 < 10:\n        i1 = 0\n        l0 = l0 + [i1]\n    return [i0]\n"
    outcomes = []
    for _ in range(2):
        load_program.cache_clear()
        sandbox = Sandbox()
        sandbox.deploy("c", source)
        outcomes.append(_observe(sandbox, [(1, "x")]))
    assert outcomes[0] == outcomes[1]
    result = outcomes[0]["results"][0]
    assert result[3][0] == LimitExceeded.__name__ and result[1] == GAS_LIMIT
