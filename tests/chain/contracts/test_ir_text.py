"""The IR's text form (one canonical layout) and the loader's refusal of hand-written hostile IR."""
from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.contracts import ContractRuntimeError, HostError, IRError, LimitExceeded, compile_source, load_program
from chain.contracts.ir.sexpr import MAX_DEPTH, Line, Local, Sym, dump, parse
from chain.contracts.limits import MAX_IR_BYTES
from chain.contracts.sandbox import Sandbox

from .harness import invoke_guarded

S = Sym


def same(a: Any, b: Any) -> bool:
    """Equal with the same atom types (Sym("a") == "a" in Python, but they are different IR atoms)."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)


# --- round trip and canonical layout ---------------------------------------------------------------------------

SAMPLE = [S("contract"), [S("ir"), 1], [S("storage"), S("m"), "m", 0],
          [S("function"), S("f"), S("public"), [S("mode"), S("view")], [S("params"), [S("x"), S("int")]],
           [S("returns"), S("int")], Line(3),
           [S("do"), [S("if"), Line(4), [S("lt"), Local("x"), -5], [S("do"), [S("return"), Line(5), b"\x00\xff"]], [S("do")]],
            [S("let"), Line(6), Local("y#2"), [S("list"), "tab\there \"quoted\" ünï", True, False, None, 10**200]],
            [S("return"), Line(7), Local("x")]]]]

SAMPLE_TEXT = """(contract
  (ir 1)
  (storage m "m" 0)
  (function f public
    (mode view)
    (params (x int))
    (returns int) @3
    (do
      (if @4 (lt $x -5)
        (do
          (return @5 #"00ff"))
        (do))
      (let @6 $y#2 (list "tab\\there \\"quoted\\" ünï" true false none %d))
      (return @7 $x))))
""" % 10**200


def test_dump_prints_the_documented_layout_and_parse_inverts_it() -> None:
    text = dump(SAMPLE) + "\n"
    assert text == SAMPLE_TEXT
    assert same(parse(text), SAMPLE)


def test_compiled_contracts_round_trip_through_the_text() -> None:
    source = open("chain/contracts/examples/token.py").read()
    text = compile_source(source, "token.py")
    assert dump(parse(text)) + "\n" == text


NON_CANONICAL = {
    "missing final newline": "(a b)",
    "two final newlines": "(a b)\n\n",
    "double space": "(a  b)\n",
    "space after (": "( a b)\n",
    "space before )": "(a b )\n",
    "leading space": " (a b)\n",
    "tab separator": "(a\tb)\n",
    "block child on the same line": "(do (x @1))\n",
    "plain child on its own line": "(a\n  (b))\n",
    "wrong indentation": "(do\n   (x @1))\n",
    "negative zero": "(a -0)\n",
    "leading zero": "(a 01)\n",
    "escaped ascii in a string": '(a "\\u0041")\n',
    "escaped non-ascii in a string": '(a "\\u00e9")\n',
    "escaped slash": '(a "\\/")\n',
    "crlf line end": "(a b)\r\n",
}


@pytest.mark.parametrize("text", NON_CANONICAL.values(), ids=NON_CANONICAL.keys())
def test_parse_refuses_text_not_in_canonical_layout(text: str) -> None:
    with pytest.raises(IRError):
        parse(text)


MALFORMED = {
    "trailing garbage": "(a b)\nextra\n",
    "second program": "(a b)\n(c d)\n",
    "unbalanced open": "(a (b)\n",
    "unbalanced close": "(a b))\n",
    "bare close": ")\n",
    "empty text": "",
    "only whitespace": "\n",
    "atom at top level": "5\n",
    "odd hex digits": '(a #"abc")\n',
    "uppercase hex": '(a #"AB")\n',
    "invalid escape": '(a "\\q")\n',
    "truncated unicode escape": '(a "\\u12")\n',
    "unterminated string": '(a "abc)\n',
    "raw control character in a string": '(a "x\ty")\n',
    "line zero": "(a @0)\n",
    "local without a name": "(a $)\n",
    "symbol with a trailing dash": "(a b-)\n",
    "integer longer than 400 digits": "(a %s)\n" % ("9" * 401),
    "unknown character": "(a ~)\n",
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_parse_refuses_malformed_text_with_ir_error(text: str) -> None:
    with pytest.raises(IRError):
        parse(text)


def _nested(levels: int) -> str:
    return "(a " * (levels - 1) + "(a)" + ")" * (levels - 1) + "\n"


def test_parse_accepts_nesting_up_to_the_limit_and_refuses_one_more() -> None:
    deepest = parse(_nested(MAX_DEPTH))
    depth = 0
    while type(deepest) is list:
        deepest = deepest[-1] if len(deepest) > 1 else None
        depth += 1
    assert depth == MAX_DEPTH
    with pytest.raises(IRError, match="nests deeper"):
        parse(_nested(MAX_DEPTH + 1))


def test_parse_refuses_text_larger_than_the_ir_limit() -> None:
    text = '(a "' + "x" * MAX_IR_BYTES + '")\n'
    with pytest.raises(IRError, match="larger"):
        parse(text)


def test_a_list_headed_list_round_trips() -> None:
    tree = [[S("a")], [1, [2]], [S("do")]]
    assert same(parse(dump(tree) + "\n"), tree)


# --- property: random trees round-trip, and any change of their layout is refused --------------------------------

_FIRST = "abcdefghijklmnopqrstuvwxyzAZ_"
_REST = _FIRST + "0123456789"
_name = st.builds(str.__add__, st.sampled_from(_FIRST), st.text(_REST, max_size=5))
names = st.lists(_name, min_size=1, max_size=3).map("-".join).filter(lambda n: n not in ("true", "false", "none"))
atoms = st.one_of(
    names.map(Sym),
    st.builds(str.__add__, _name, st.sampled_from(["", "#1", "#27"])).map(Local),
    st.integers(min_value=1, max_value=10**9).map(Line),
    st.integers(min_value=-(10**120), max_value=10**120),
    st.text(st.characters(codec="utf-8"), max_size=12),
    st.binary(max_size=12),
    st.booleans(),
    st.none(),
    st.sampled_from([S("do"), S("contract"), S("function"), "do"]),  # heads that change the layout
)
tree = st.recursive(atoms, lambda inner: st.lists(inner, max_size=5), max_leaves=25)
trees = st.lists(tree, max_size=5)


@settings(max_examples=60, deadline=None)
@given(trees)
def test_random_trees_round_trip_through_canonical_text(tree: list[Any]) -> None:
    text = dump(tree) + "\n"
    parsed = parse(text)
    assert same(parsed, tree)
    assert dump(parsed) + "\n" == text


def _layout_positions(text: str) -> list[int]:
    """Indexes of whitespace between tokens (not inside string literals)."""
    out, inside, escaped = [], False, False
    for i, ch in enumerate(text[:-1]):
        if inside:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                inside = False
        elif ch == '"':
            inside = True
        elif ch in " \n":
            out.append(i)
    return out


@settings(max_examples=30, deadline=None)
@given(st.lists(tree, min_size=2, max_size=5), st.data())
def test_any_change_of_layout_is_refused(tree: list[Any], data: st.DataObject) -> None:
    text = dump(tree) + "\n"
    positions = _layout_positions(text)
    mutations = [lambda t: t + "\n", lambda t: t[:-1], lambda t: " " + t, lambda t: t[:-1] + " \n"]
    if positions:
        i = data.draw(st.sampled_from(positions))
        replacement = {" ": ["  ", "\n", "\t"], "\n": ["\n ", " ", "\n\n"]}[text[i]]
        new = data.draw(st.sampled_from(replacement))
        mutations.append(lambda t: t[:i] + new + t[i + 1:])
    mutate = data.draw(st.sampled_from(mutations))
    with pytest.raises(IRError):
        parse(mutate(text))


# --- hand-written hostile IR -------------------------------------------------------------------------------------


def fn(name: str, *body: Any, params: tuple[tuple[str, str], ...] = (), returns: str = "any",
       mode: str = "write", public: bool = True) -> list[Any]:
    return [S("function"), S(name), S("public" if public else "private"), [S("mode"), S(mode)],
            [S("params"), *[[S(p), S(t)] for p, t in params]], [S("returns"), S(returns)], Line(1), [S("do"), *body]]


def program(*forms: Any) -> bytes:
    return (dump([S("contract"), [S("ir"), 1], *forms]) + "\n").encode()


def ret(expr: Any) -> list[Any]:
    return [S("return"), Line(2), expr]


def test_a_hand_written_program_loads_and_runs() -> None:
    code = program([S("storage"), S("m"), "m", 7], fn("main", ret([S("add"), [S("load"), S("m"), "k"], 1])))
    sandbox = Sandbox()
    sandbox.deploy("c", code)
    assert invoke_guarded(sandbox, "c", "main").value == 8


HOSTILE_IR = {
    "load from an undeclared map": program(fn("main", ret([S("load"), S("ghost"), "k"]))),
    "store to an undeclared map": program(fn("main", [S("store"), Line(2), S("ghost"), "k", 1])),
    "membership in an undeclared map": program(fn("main", ret([S("has"), S("ghost"), "k"]))),
    "erase from an undeclared map": program(fn("main", [S("erase"), Line(2), S("ghost"), "k"])),
    "call of an undeclared contract": program(fn("main", ret([S("call-contract"), "bank", "drain"]))),
    "call of a contract named by a symbol": program([S("calls"), "bank"], fn("main", ret([S("call-contract"), S("bank"), "drain"]))),
    "call with a computed function name": program([S("calls"), "bank"], fn("main", ret([S("call-contract"), "bank", [S("concat"), "dr", "ain"]]))),
    "read of an undeclared data account": program(fn("main", ret([S("read-data"), "secrets", "k"]))),
    "write to an undeclared data account": program(fn("main", [S("eval"), Line(2), [S("write-data"), "secrets", "k", b"x"]])),
    "write declared only as read": program([S("reads"), "secrets"], fn("main", [S("eval"), Line(2), [S("write-data"), "secrets", "k", b"x"]])),
    "emit of an undeclared event": program(fn("main", [S("emit"), Line(2), S("Ghost"), 1])),
    "emit with too few fields": program([S("event"), S("E"), S("a"), S("b")], fn("main", [S("emit"), Line(2), S("E"), 1])),
    "unknown expression instruction": program(fn("main", ret([S("frobnicate"), 1]))),
    "unknown statement": program(fn("main", [S("explode"), Line(2)])),
    "python name of an instruction": program(fn("main", ret([S("list_comp"), [Local("x")], [S("list")], True, Local("x")]))),
    "python name of an api call": program([S("reads"), "a"], fn("main", ret([S("read_data"), "a", "k"]))),
    "private helper name as instruction": program(fn("main", ret([S("_env"), 1]))),
    "binary op with one operand": program(fn("main", ret([S("add"), 1]))),
    "binary op with three operands": program(fn("main", ret([S("add"), 1, 2, 3]))),
    "builtin with too many operands": program(fn("main", ret([S("len"), 1, 2]))),
    "method with too many arguments": program(fn("main", ret([S("method"), S("append"), [S("list")], 1, 2]))),
    "unknown method": program(fn("main", ret([S("method"), S("format"), "x"]))),
    "let without a value": program(fn("main", [S("let"), Line(2), Local("x")])),
    "let of a non-local": program(fn("main", [S("let"), Line(2), S("x"), 1])),
    "statement without a line": program(fn("main", [S("return"), 1])),
    "if without else block": program(fn("main", [S("if"), Line(2), True, [S("do")]])),
    "if with a non-block branch": program(fn("main", [S("if"), Line(2), True, [S("return"), Line(3), 1], [S("do")]])),
    "cond with two operands": program(fn("main", ret([S("cond"), True, 1]))),
    "call of an undefined function": program(fn("main", ret([S("call"), S("ghost")]))),
    "call with the wrong number of arguments": program(fn("main", ret([S("call"), S("helper"), 1])),
                                                        fn("helper", ret(1), public=False)),
    "for with non-local targets": program(fn("main", [S("for"), Line(2), [S("x")], [S("list")], [S("do")]])),
    "comprehension missing its element": program(fn("main", ret([S("list-comp"), [Local("x")], [S("list")], True]))),
    "dict literal with an odd item count": program(fn("main", ret([S("dict"), 1, 2, 3]))),
    "expression that is a bare symbol": program(fn("main", ret(S("x")))),
    "empty expression": program(fn("main", ret([]))),
    "list-headed expression": program(fn("main", ret([[S("add")], 1, 2]))),
    "wrong ir version": (dump([S("contract"), [S("ir"), 2], fn("main", ret(1))]) + "\n").encode(),
    "missing ir version": (dump([S("contract"), fn("main", ret(1))]) + "\n").encode(),
    "not a contract": (dump([S("module"), [S("ir"), 1], fn("main", ret(1))]) + "\n").encode(),
    "no functions": program([S("storage"), S("m"), "m", 0]),
    "function defined twice": program(fn("main", ret(1)), fn("main", ret(2))),
    "repeated parameter": program(fn("main", ret(1), params=(("a", "int"), ("a", "int")))),
    "unknown parameter type": program(fn("main", ret(1), params=(("a", "float"),))),
    "parameter type that is a list": program(fn("main", ret(1)))
    .replace(b"(params)", b"(params (a (int)))"),
    "empty returns": program(fn("main", ret(1))).replace(b"(returns any)", b"(returns)"),
    "returns type that is a list": program(fn("main", ret(1))).replace(b"(returns any)", b"(returns (int))"),
    "unknown visibility": program(fn("main", ret(1))).replace(b"main public", b"main exported"),
    "unknown mode": program(fn("main", ret(1))).replace(b"(mode write)", b"(mode pure)"),
    "map declared twice": program([S("storage"), S("m"), "m", 0], [S("storage"), S("m"), "n", 0], fn("main", ret(1))),
    "maps sharing a prefix": program([S("storage"), S("m"), "p", 0], [S("storage"), S("n"), "p", 0], fn("main", ret(1))),
    "map default that is not a constant": program([S("storage"), S("m"), "m", [S("list")]], fn("main", ret(1))),
    "event declared twice": program([S("event"), S("E"), S("a")], [S("event"), S("E"), S("a")], fn("main", ret(1))),
    "malformed header item": program([S("grants"), "everything"], fn("main", ret(1))),
    "string with an invalid escape": program(fn("main", ret("x"))).replace(b'"x"', b'"\\q"'),
    "code that is not utf-8": program(fn("main", ret("x"))).replace(b'"x"', b'"\xff"'),
}


@pytest.mark.parametrize("code", HOSTILE_IR.values(), ids=HOSTILE_IR.keys())
def test_hand_written_hostile_ir_is_refused_with_ir_error(code: bytes) -> None:
    with pytest.raises(IRError):
        load_program(code)


def test_load_program_refuses_code_that_is_not_bytes_or_too_large() -> None:
    with pytest.raises(IRError):
        load_program(program(fn("main", ret(1))).decode())  # type: ignore[arg-type]
    with pytest.raises(IRError):
        load_program(program(fn("main", ret("x" * MAX_IR_BYTES))))


def test_a_declared_but_missing_contract_is_refused_by_the_host_at_run_time() -> None:
    sandbox = Sandbox()
    sandbox.deploy("c", program([S("calls"), "bank"], fn("main", ret([S("call-contract"), "bank", "drain"]))))
    outcome = invoke_guarded(sandbox, "c", "main")
    assert isinstance(outcome.error, HostError)


def test_recursion_the_compiler_would_refuse_is_stopped_by_the_call_depth_limit() -> None:
    sandbox = Sandbox()
    sandbox.deploy("c", program(fn("main", ret([S("add"), [S("call"), S("main")], 1]))))
    outcome = invoke_guarded(sandbox, "c", "main")
    assert isinstance(outcome.error, LimitExceeded) and outcome.error.limit == "depth"


def test_a_local_read_before_assignment_is_a_runtime_error() -> None:
    sandbox = Sandbox()
    sandbox.deploy("c", program(fn("main", ret(Local("ghost")))))
    outcome = invoke_guarded(sandbox, "c", "main")
    assert isinstance(outcome.error, ContractRuntimeError) and "before it is assigned" in outcome.error.message


def _deep_negation(levels: int, innermost: Any) -> Any:
    expr = innermost
    for _ in range(levels):
        expr = [S("neg"), expr]
    return expr


def test_a_body_nested_to_the_parse_limit_loads_and_runs() -> None:
    # contract (1) > function (2) > do (3) > return (4) > expressions (5..64)
    code = program(fn("main", ret(_deep_negation(MAX_DEPTH - 4, 5))))
    assert b"(neg " * 60 in code
    sandbox = Sandbox()
    sandbox.deploy("c", code)
    assert invoke_guarded(sandbox, "c", "main").value == 5
    with pytest.raises(IRError, match="nests deeper"):
        load_program(program(fn("main", ret(_deep_negation(MAX_DEPTH - 3, 5)))))


def test_maximal_nesting_in_every_frame_of_the_deepest_call_chain_runs_without_exhausting_the_host_stack() -> None:
    # 32 frames (the call depth limit), each nested to the parse limit with the next call at the bottom
    depth = Sandbox().limits.call_depth
    functions = [fn(f"f{i}", ret(_deep_negation(MAX_DEPTH - 5, [S("call"), S(f"f{i + 1}")])), public=i == 0)
                 for i in range(depth - 1)]
    functions.append(fn(f"f{depth - 1}", ret(1), public=False))
    sandbox = Sandbox()
    sandbox.deploy("c", program(*functions))
    outcome = invoke_guarded(sandbox, "c", "f0")
    assert outcome.error is None and outcome.value == (-1) ** ((MAX_DEPTH - 5) * (depth - 1))
    # one more frame is the depth limit, not a host RecursionError mapped to some other error
    functions[-1] = fn(f"f{depth - 1}", ret([S("call"), S(f"f{depth}")]), public=False)
    functions.append(fn(f"f{depth}", ret(1), public=False))
    sandbox.deploy("d", program(*functions))
    outcome = invoke_guarded(sandbox, "d", "f0")
    assert isinstance(outcome.error, LimitExceeded) and outcome.error.limit == "depth"


def test_header_permissions_are_what_the_loader_enforces() -> None:
    text = compile_source('from contract import call, read_data, write_data\n\n'
                          'def main() -> int:\n'
                          '    write_data("out", "k", read_data("in", "k"))\n'
                          '    return call("peer", "f")\n')
    program_ = load_program(text.encode())
    assert (program_.reads, program_.writes, program_.calls) == ({"in"}, {"out"}, {"peer"})
    for header in ('(reads "in")', '(writes "out")', '(calls "peer")'):
        stripped = re.sub(r"\n *" + re.escape(header), "", text)
        assert stripped != text
        with pytest.raises(IRError, match="not declared"):
            load_program(stripped.encode())


def test_ir_that_claims_view_but_writes_is_refused() -> None:
    from chain.contracts import IRError, compile_source, load_program

    source = 'from contract import Map\nm = Map("m")\n\ndef peek() -> int:\n    return 1\n\ndef put() -> None:\n    m["k"] = 1\n'
    ir = compile_source(source)
    assert "(mode view)" in ir and "(mode write)" in ir
    lying = ir.replace("(mode write)", "(mode view)")
    with pytest.raises(IRError, match="declared view but changes state"):
        load_program(lying.encode())
    caller = compile_source(source + '\ndef both() -> None:\n    put()\n').replace(
        "(function both public\n    (mode write)", "(function both public\n    (mode view)")
    with pytest.raises(IRError, match="calls put"):
        load_program(caller.encode())
