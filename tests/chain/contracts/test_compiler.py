"""The compiler: what it accepts, what it refuses (and on which line), and what it writes in the IR header."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from chain.contracts import CompileError, compile_source, load_program
from chain.contracts.compiler import compile_tree
from chain.contracts.ir.sexpr import Sym, parse
from chain.contracts.limits import MAX_FUNCTIONS, MAX_PARAMS, MAX_SOURCE_BYTES

EXAMPLES = Path(__file__).resolve().parents[3] / "chain" / "contracts" / "examples"


def refusal(source: str) -> CompileError:
    with pytest.raises(CompileError) as refused:
        compile_source(source)
    return refused.value


def header(source: str, head: str) -> list[list[object]]:
    return [form for form in compile_tree(source) if type(form) is list and form[:1] == [head]]


def functions(source: str) -> dict[str, list[object]]:
    return {str(form[1]): form for form in compile_tree(source) if type(form) is list and form[:1] == ["function"]}


def modes(source: str) -> dict[str, str]:
    return {name: str(form[3][1]) for name, form in functions(source).items()}  # type: ignore[index]


# --- good programs ------------------------------------------------------------------------------------------------

GOOD = {
    "arithmetic": "def main(a: int, b: int) -> int:\n    return (a + b) * (a - b) // 3 % 7 ** 2 - (-a) + abs(b)\n",
    "strings and f-strings": 'def main(name: str) -> str:\n    return f"hi {name}, {len(name)}".upper() + "!" * 2\n',
    "containers": ("def main() -> list:\n    items = [1, 2, 3]\n    items.append(4)\n    table = {'a': 1, 'b': (1, 2)}\n"
                   "    table['c'] = items[1:3]\n    return [items, table, [x * 2 for x in items if x % 2], "
                   "{k: v for k, v in table.items()}]\n"),
    "loops": ("def main(n: int) -> int:\n    total = 0\n    i = 0\n    while i < n:\n        i += 1\n"
              "        if i == 3:\n            continue\n        if i > 8:\n            break\n"
              "        for j, k in enumerate(range(i)):\n            total += j * k\n    return total\n"),
    "storage and events": ('from contract import Map, emit, event, require, caller\n\n'
                           'counts = Map("counts", default=0)\nBumped = event("who", "count")\n\n\n'
                           "def bump() -> int:\n    who = caller()\n    require(who != '', 'anonymous')\n"
                           "    counts[who] += 1\n    emit(Bumped, who=who, count=counts[who])\n"
                           "    if who in counts:\n        del counts['nobody']\n    return counts[who]\n"),
    "constants and private helpers": ("LIMIT = 10\nNAMES = ('a', 'b', -3, None, b'x', True)\n\n\n"
                                      "def main(x: int) -> int:\n    return _clamp(x) + len(NAMES)\n\n\n"
                                      "def _clamp(x: int) -> int:\n    return min(x, LIMIT)\n"),
    "docstrings and pass": '"""Module docstring."""\n\n\ndef main() -> None:\n    """Function docstring."""\n    pass\n',
    "annotations": "def main(a: int, b: str, c: bytes, d: bool, e: list, f: dict, g: tuple, h: Any, i: None) -> Any:\n"
                   "    x: int = 1\n    return x\n",
    "chained comparison": "def main(a: int) -> bool:\n    return 0 < a <= 10 != 5\n",
    "is none": "def main(a: int) -> bool:\n    return a is None or a is not None\n",
    "augmented item keyed by the caller": ('from contract import Map, caller\nm = Map("m", default=0)\n\n'
                                           "def main() -> int:\n    m[caller()] += 1\n    d = {'A': 0}\n"
                                           "    d['a'.upper()] += len(d)\n    return m[caller()]\n"),
    "augmented item with a pure key": ("def main() -> dict:\n    table = {('a', 1): 0}\n    k = 'a'\n"
                                       "    table[(k, 1)] += 5\n    return table\n"),
}


@pytest.mark.parametrize("source", GOOD.values(), ids=GOOD.keys())
def test_good_programs_compile_to_canonical_ir_that_loads(source: str) -> None:
    text = compile_source(source)
    assert text.endswith(")\n")
    assert parse(text) is not None  # canonical: parse refuses anything dump would not print
    program = load_program(text.encode())
    assert "main" in program.functions or "bump" in program.functions


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.stem)
def test_the_shipped_examples_compile_and_load(example: Path) -> None:
    load_program(compile_source(example.read_text(), example.name).encode())


def test_compiling_is_deterministic_and_the_header_names_the_source() -> None:
    source = (EXAMPLES / "token.py").read_text()
    text = compile_source(source, "token.py")
    assert compile_source(source, "token.py") == text
    tree = parse(text)
    assert tree[1] == [Sym("ir"), 1]
    assert tree[2] == [Sym("source"), "token.py", hashlib.sha256(source.encode()).digest()]


# --- refusals name their line -------------------------------------------------------------------------------------

REFUSED_AT = {
    # source, line, words in the message
    "syntax error": ("def main():\n    return (\n", 2, "syntax"),
    "import": ("import os\n\ndef main():\n    return 1\n", 1, "import"),
    "attribute": ("def main():\n    x = 1\n    return x.real\n", 3, "attribute"),
    "undefined name": ("def main():\n    return ghost\n", 2, "not defined"),
    "undefined function": ("def main():\n    return ghost()\n", 2, "not defined"),
    "wrong arity of a builtin": ("def main():\n    x = 1\n    return len(x, x)\n", 3, "len()"),
    "wrong arity of a function": ("def main():\n    return _f(1)\n\n\ndef _f():\n    return 1\n", 2, "takes 0"),
    "keyword arguments": ("def main():\n    return max(1, key=2)\n", 2, "keyword"),
    "float": ("def main():\n    x = 1\n    y = 0.5\n    return x\n", 3, "float"),
    "true division": ("def main(a: int):\n    return a / 2\n", 2, "//"),
    "matmul": ("def main(a: int):\n    return a @ a\n", 2, "MatMult"),
    "set literal": ("def main():\n\n    return {1}\n", 3, "set"),
    "try": ("def main():\n    try:\n        pass\n    except Exception:\n        pass\n", 2, "try"),
    "while else": ("def main():\n    while False:\n        pass\n    else:\n        pass\n", 2, "while/else"),
    "break outside a loop": ("def main():\n    x = 1\n    break\n", 3, "outside a loop"),
    "continue outside a loop": ("def main():\n    for i in range(2):\n        pass\n    continue\n", 4, "outside a loop"),
    "break in a loop's if is fine, after it is not": (
        "def main():\n    for i in range(2):\n        if i:\n            break\n    if True:\n        break\n", 6, "outside"),
    "augmented item calling a method": ("def main():\n    d = {1: 0}\n    l = [1]\n    d[l.pop()] += 1\n", 4, "twice"),
    "augmented item calling a function": ("def main():\n    d = {1: 0}\n    d[_k()] += 1\n\n\ndef _k():\n    return 1\n", 3, "twice"),
    "is with a value": ("def main(a: int):\n    return a is 1\n", 2, "None"),
    "chained comparison with a call in the middle": ("def main(a: int):\n    return 0 < abs(a) < 5\n", 2, "chained"),
    "slice assignment": ("def main():\n    l = [1]\n    l[0:1] = [2]\n", 3, "slice"),
    "multiple assignment": ("def main():\n    a = b = 1\n", 2, "chained assignment"),
    "string statement": ("def main():\n    x = 1\n    'not a docstring'\n", 3, "does nothing"),
    "emit of an undeclared event": ("from contract import emit\n\ndef main():\n    emit(Ghost, a=1)\n", 4, "declared event"),
    "emit with missing fields": ('from contract import emit, event\nE = event("a", "b")\n\ndef main():\n    emit(E, a=1)\n',
                                 5, "exactly the fields"),
    "require with one argument": ("from contract import require\n\ndef main():\n    require(True)\n", 4, "require"),
    "map without a literal prefix": ("from contract import Map\nP = 'p'\nm = Map(P)\n\ndef main():\n    return 1\n", 3, "literal prefix"),
    "map used as a value": ('from contract import Map\nm = Map("m")\n\ndef main():\n    return len(m)\n', 5, "items"),
    "map sliced": ('from contract import Map\nm = Map("m")\n\ndef main():\n    return m[1:2]\n', 5, "sliced"),
    "two maps with one prefix": ('from contract import Map\na = Map("p")\nb = Map("p")\n\ndef main():\n    return 1\n', 3, "prefix"),
    "function defined twice": ("def main():\n    return 1\n\n\ndef main():\n    return 2\n", 5, "twice"),
    "constant defined twice": ("A = 1\nA = 2\n\ndef main():\n    return A\n", 2, "twice"),
    "assigning a constant's name is fine, assigning a function's is not": (
        "def main():\n    _f = 1\n    return _f\n\n\ndef _f():\n    return 1\n", 1, "module-level declaration"),
    "bad annotation": ("def main(a: float):\n    return 1\n", 1, "annotation"),
    "default argument": ("def main(a=1):\n    return a\n", 1, "positional"),
    "too many parameters": ("def main(" + ", ".join(f"p{i}" for i in range(MAX_PARAMS + 1)) + "):\n    return 1\n", 1, "parameters"),
    "nesting too deep": ("def main():\n    x = 1\n" + "".join("    " * (i + 1) + "if x:\n" for i in range(42))
                         + "    " * 43 + "pass\n", 43, "nests deeper"),
    "ir nesting too deep": ("def main():\n    x = 1\n" + "".join("    " * (i + 1) + "while x:\n" for i in range(36))
                            + "    " * 37 + "x = 0\n", 33, "IR"),
    "constant nested too deep": ("C = " + "(" * 40 + "1," + "),"*39 + ")\n\ndef main():\n    return C\n", 1, "nest"),
    "constant too large": ("A = (" + "1, " * 5000 + ")\n\ndef main():\n    return A\n", 1, "items"),
    "lone surrogate in a string": ('def main():\n    return "\\ud800"\n', 2, "surrogate"),
    "non-literal call target": ("from contract import call\n\ndef main(t: str):\n    return call(t, 'f')\n", 4, "literal contract"),
    "non-literal called function": ("from contract import call\n\ndef main(f: str):\n    return call('c', f)\n", 4, "literal function"),
    "api without import": ("def main():\n    return height()\n", 2, "import"),
}


@pytest.mark.parametrize("case", REFUSED_AT.values(), ids=REFUSED_AT.keys())
def test_each_refusal_names_the_offending_line(case: tuple[str, int, str]) -> None:
    source, line, words = case
    error = refusal(source)
    assert error.line == line, str(error)
    assert words.lower() in error.message.lower(), str(error)
    assert str(error).startswith(f"line {line}")


def test_refusals_without_a_position() -> None:
    assert "at least one function" in refusal("X = 1\n").message
    assert "limit" in refusal("#" * (MAX_SOURCE_BYTES + 1)).message
    many = "".join(f"def f{i}():\n    return {i}\n" for i in range(MAX_FUNCTIONS + 1))
    assert str(MAX_FUNCTIONS) in refusal(many).message
    with pytest.raises(CompileError):
        compile_source(b"def main():\n    return 1\n")  # type: ignore[arg-type]


# --- dunders anywhere ---------------------------------------------------------------------------------------------

DUNDER_PLACES = {
    "function name": "def __main__():\n    return 1\n",
    "private function name": "def main():\n    return 1\n\n\ndef _x__y():\n    return 2\n",
    "parameter": "def main(__a):\n    return 1\n",
    "local": "def main():\n    a__b = 1\n    return 1\n",
    "loop variable": "def main():\n    for __i in range(2):\n        pass\n",
    "comprehension variable": "def main():\n    return [__i for __i in range(2)]\n",
    "unpacking target": "def main():\n    a, __b = 1, 2\n",
    "constant": "__version__ = 1\n\ndef main():\n    return 1\n",
    "attribute": "def main():\n    return (1).__class__\n",
    "method": "def main():\n    return 'x'.__len__()\n",
    "called name": "def main():\n    return __import__('os')\n",
    "read name": "def main():\n    return __builtins__\n",
    "event field": 'from contract import event\nE = event("__dict__")\n\ndef main():\n    return 1\n',
    "import": "from contract import __loader__\n\ndef main():\n    return 1\n",
    "map name": 'from contract import Map\n__m = Map("m")\n\ndef main():\n    return 1\n',
}


@pytest.mark.parametrize("source", DUNDER_PLACES.values(), ids=DUNDER_PLACES.keys())
def test_dunder_names_are_refused_wherever_they_appear(source: str) -> None:
    error = refusal(source)
    assert error.line is not None
    assert "__" in error.message or "dunder" in error.message or "attribute" in error.message or "contract" in error.message


# --- module-level state -------------------------------------------------------------------------------------------

MUTABLE_MODULE_STATE = {
    "list": "CACHE = []",
    "dict": "CACHE = {}",
    "list in a tuple": "CACHE = (1, [])",
    "comprehension": "CACHE = [i for i in range(3)]",
    "call": "CACHE = list()",
    "name of nothing": "CACHE = ghost",
    "expression": "CACHE = 1 + 1",
    "two targets": "A, B = 1, 2",
    "augmented": "A = 1\nA += 1",
    "statement": "if True:\n    A = 1",
    "annotation without value": "A: int",
}


@pytest.mark.parametrize("declaration", MUTABLE_MODULE_STATE.values(), ids=MUTABLE_MODULE_STATE.keys())
def test_module_level_holds_only_immutable_constants_maps_and_events(declaration: str) -> None:
    error = refusal(declaration + "\n\n\ndef main():\n    return 1\n")
    assert error.line == declaration.count("\n") + 1 or error.line == 1


def test_module_constants_are_inlined_as_immutable_values() -> None:
    text = compile_source("LIMIT = -5\nPAIR = ('a', LIMIT)\n\ndef main():\n    return PAIR\n")
    assert '(return @5 (tuple "a" -5))' in text


# --- recursion ----------------------------------------------------------------------------------------------------


def test_direct_recursion_is_refused_with_the_cycle_and_line() -> None:
    error = refusal("def main(n: int) -> int:\n    if n:\n        return main(n - 1)\n    return 0\n")
    assert error.line == 3 and "main -> main" in error.message


def test_a_three_function_cycle_is_refused_naming_the_path() -> None:
    error = refusal("def a():\n    return b()\n\n\ndef b():\n    return c()\n\n\ndef c():\n    return a()\n")
    assert "a -> b -> c -> a" in error.message and error.line == 10


def test_shared_callees_without_a_cycle_are_allowed() -> None:
    compile_source("def a():\n    return b() + c()\n\n\ndef b():\n    return c()\n\n\ndef c():\n    return 1\n")


# --- view and write modes -----------------------------------------------------------------------------------------

MODES_SOURCE = '''
from contract import Map, call, emit, event, read_data, write_data

m = Map("m", default=0)
E = event("x")


def pure(a: int) -> int:
    return a * 2


def reads() -> int:
    return m["k"] + len(read_data("ledger", "k") or b"")


def stores() -> None:
    m["k"] = 1


def erases() -> None:
    del m["k"]


def emits() -> None:
    emit(E, x=1)


def writes_data() -> None:
    write_data("ledger", "k", b"v")


def calls_out() -> int:
    return call("other", "f")


def through_helper() -> int:
    return _helper()


def _helper() -> int:
    _deeper()
    return 1


def _deeper() -> None:
    m["x"] = 2


def local_dict_only() -> dict:
    d = {}
    d["k"] = 1
    del d["k"]
    return d
'''


def test_functions_are_views_unless_they_or_their_callees_change_state() -> None:
    assert modes(MODES_SOURCE) == {
        "pure": "view", "reads": "view", "local_dict_only": "view",
        "stores": "write", "erases": "write", "emits": "write", "writes_data": "write", "calls_out": "write",
        "through_helper": "write", "_helper": "write", "_deeper": "write",
    }
    program = load_program(compile_source(MODES_SOURCE).encode())
    abi = {f["name"]: f["mode"] for f in program.abi()["functions"]}
    assert abi["pure"] == "view" and abi["through_helper"] == "write" and "_helper" not in abi


def test_header_lists_reads_writes_and_calls_from_literal_arguments_sorted_once() -> None:
    source = '''
from contract import call, read_data, write_data


def main() -> None:
    read_data("zeta", "k")
    read_data("alpha", "k")
    read_data("zeta", "other")
    write_data("out", "k", b"")
    call("bank", "deposit", 1)
    call("audit", "log")
    call("bank", "withdraw", 2)
'''
    assert header(source, "reads") == [[Sym("reads"), "alpha"], [Sym("reads"), "zeta"]]
    assert header(source, "writes") == [[Sym("writes"), "out"]]
    assert header(source, "calls") == [[Sym("calls"), "audit"], [Sym("calls"), "bank"]]
    program = load_program(compile_source(source).encode())
    assert (program.reads, program.writes, program.calls) == ({"alpha", "zeta"}, {"out"}, {"audit", "bank"})


def test_header_declares_maps_with_defaults_and_events_with_fields() -> None:
    source = ('from contract import Map, event\nbal = Map("balances", default=0)\nmeta = Map("meta")\n'
              'T = event("sender", "amount")\n\ndef main():\n    return 1\n')
    assert header(source, "storage") == [[Sym("storage"), Sym("bal"), "balances", 0],
                                         [Sym("storage"), Sym("meta"), "meta", None]]
    assert header(source, "event") == [[Sym("event"), Sym("T"), Sym("sender"), Sym("amount")]]


def test_visibility_follows_the_leading_underscore() -> None:
    fns = functions("def main():\n    return _h()\n\n\ndef _h():\n    return 1\n")
    assert fns["main"][2] == "public" and fns["_h"][2] == "private"
