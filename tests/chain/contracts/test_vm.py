"""VM semantics (checked against CPython running the same source), gas accounting, rollback, events, calls."""
from __future__ import annotations

import hashlib

from typing import Any

import pytest

from chain.contracts import (
    ContractFailure, ContractRuntimeError, HostError, LimitExceeded, Limits, decode_value, encode_value,
)
from chain.contracts.sandbox import Sandbox

from .harness import invoke_guarded, run, state_of, value_of

# --- semantics: the VM agrees with CPython on the dialect ----------------------------------------------------------

#: Function bodies that are plain Python too: `main()` must give the same value in the VM and in CPython.
SAME_AS_PYTHON = {
    "floor division and modulo of negatives": "return [7 // 2, -7 // 2, 7 // -2, 7 % 3, -7 % 3, 7 % -3, divmod(-7, 2)]",
    "powers shifts and bits": "return [2 ** 100, (-3) ** 3, 0 ** 0, 1 << 70, -1 >> 3, 2**70 >> 69, 6 & 3, 6 | 3, 6 ^ 3, ~5, -(-4), +4]",
    "big integers": "x = 2 ** 200 + 1\nreturn [x * x // (2 ** 150), x % 1000, abs(-x) - x, str(x)]",
    "comparisons": 'return [1 < 2 <= 2 != 3, "a" < "b", (1, 2) < (1, 3), [1] == [1], b"a" >= b"a", None == 0, 3 > 2 > 1]',
    "bool ops return operands": 'return [0 or "x", 1 and 2, [] or [3], None and 1, not 0, not "x", 1 if 0 else 2]',
    "bool arithmetic": "return [True + True, True * 3, -True, True | False, True & False, True ^ True]",
    "text operations": ('s = "Hello, World"\nreturn [s[0], s[-1], s[2:5], s[::-1], s[::2], len(s), s.upper(), s.lower(), '
                        's.find("o"), s.count("l"), s.replace("l", "L"), s.split(", "), s.split(), "-".join(["a", "b"]), '
                        '"  x ".strip(), "xxaxx".strip("x"), s.startswith("He"), s.endswith("d"), "o" in s, "z" not in s, '
                        '"12".isdigit(), "1a".isdigit(), "ab" * 3, "a,b,,c".split(","), "a b c".split(" ", 1)]'),
    "bytes operations": ('b = "héllo".encode()\nreturn [b, b.decode(), b.hex(), bytes.fromhex("00ff"), b[1], b[1:3], '
                         'bytes([1, 2, 255]), len(b), b"ab" + b"cd", b.find(b"l"), b.split(b"l"), b.upper(), str(b"x")]'),
    "f-strings": 'n = 5\nname = "bob"\nraw = b"x"\nreturn [f"{name} has {n} items", f"{n * 2}{None}{True}", f"{raw}", f"", f"{{n}}"]',
    "str and int conversions": 'return [str(10), str(-3), str(True), str(None), int("42"), int("-7"), int(" 8 "), int(True), bool(0), bool([1])]',
    "list methods": ("l = [3, 1, 2]\nl.append(5)\nl.insert(0, 9)\nl.extend([7, 7])\nx = l.pop()\ny = l.pop(0)\n"
                     "l.reverse()\nc = l.copy()\nc.append(0)\n"
                     "return [l, x, y, c, l.index(2), l.count(7), sorted(l), sum(l), min(l), max(l), min(4, 2, 8), max([1, 9])]"),
    "list indexing slicing and deletion": ("l = list(range(10))\nl[2] = 20\ndel l[0]\nl[-1] = 99\n"
                                           "return [l, l[1:4], l[::3], l[-3:], l[5:1:-1], l[100:], len(l)]"),
    "dict methods": ('d = {"b": 1, "a": 2}\nd["c"] = 3\nv = d.pop("b")\nw = d.pop("zz", -1)\ns = d.setdefault("e", 5)\n'
                     't = d.setdefault("a", 0)\nd.update({"f": 6})\ne = d.copy()\ne["g"] = 7\ndel d["c"]\n'
                     'return [d, v, w, s, t, e, d.get("a"), d.get("x"), d.get("x", 0), list(d.keys()), list(d.values()), '
                     'list(d.items()), "a" in d, "q" not in d, len(d), dict([("k", 1)]), dict(d) == d]'),
    "dict keeps insertion order": 'd = {}\nfor k in ["z", "a", "m"]:\n    d[k] = len(d)\nreturn [list(d), d]',
    "tuple keys": 'd = {(1, "a"): 1}\nd[(2, "b")] = 2\nreturn [d[(1, "a")], (2, "b") in d, sorted(d)]',
    "comprehensions": ("xs = [1, 2, 3, 4, 5, 6]\n"
                       "return [[x * x for x in xs if x % 2 == 0], {x: x * 2 for x in xs if x > 3}, "
                       "[a + b for a, b in zip(xs, xs[1:])], [i * v for i, v in enumerate(xs)], "
                       "sum(x for x in xs), [c for c in 'abc'], {k: v for k, v in {'a': 1}.items()}]"),
    "comprehension variables do not leak": "x = 10\nys = [x for x in range(3)]\nreturn [x, ys]",
    "unpacking": "a, b = 1, 2\na, b = b, a\n(c, d) = [3, 4]\nfor k, v in [(5, 6)]:\n    e = k + v\nreturn [a, b, c, d, e]",
    "loops with break and continue": ("out = []\nfor i in range(10):\n    if i % 2:\n        continue\n    if i > 6:\n        break\n"
                                      "    out.append(i)\nn = 0\nwhile True:\n    n += 1\n    if n < 5:\n        continue\n    break\n"
                                      "return [out, n]"),
    "nested loops break only the inner": ("pairs = []\nfor i in range(3):\n    for j in range(3):\n        if j > i:\n"
                                          "            break\n        pairs.append((i, j))\nreturn pairs"),
    "for over a dict and a string": 'total = ""\nfor k in {"x": 1, "y": 2}:\n    total += k\nfor ch in "ab":\n    total += ch\nreturn total',
    "range forms": "return [list(range(3)), list(range(2, 8, 3)), list(range(5, 0, -2)), len(range(10**6)), 7 in range(10), reversed([1, 2])]",
    "builtins over containers": "return [any([0, 0, 1]), all([]), all([1, 0]), sorted({'b': 1, 'a': 2}), sorted('cab'), list('ab'), tuple([1, 2])]",
    "membership": "return [2 in [1, 2], 3 in (1, 2), 'a' in {'a': 1}, b'b' in b'abc', 5 in range(3, 9)]",
    "evaluation order of assignments": ("l = [1, 2, 3, 4]\nd = {}\nd[l.pop()] = l.pop()\nm = {}\nm[len(l)] = l.pop()\n"
                                        "return [d, m, l]"),
    "augmented assignment on items": "d = {'a': [1]}\nd['a'] += [2]\nl = [1, 2]\nl[0] += 10\nl[-1] *= 3\nreturn [d, l]",
    "is none": "x = None\nz = 0\nreturn [x is None, x is not None, z is None]",
}


def _normalize(value: Any) -> Any:
    return decode_value(encode_value(value))


@pytest.mark.parametrize("body", SAME_AS_PYTHON.values(), ids=SAME_AS_PYTHON.keys())
def test_the_vm_computes_what_cpython_computes(body: str) -> None:
    source = "def main():\n" + "".join(f"    {line}\n" for line in body.splitlines())
    if "reversed([1, 2])" in body:  # reversed() is a list in the dialect, an iterator in CPython
        source = source.replace("reversed([1, 2])", "list(reversed([1, 2]))")
    namespace: dict[str, Any] = {}
    exec(compile(source, "<python>", "exec"), namespace)  # noqa: S102 - the oracle
    expected = namespace["main"]()
    assert _normalize(value_of(source)) == _normalize(expected)


VM_REFUSES = {
    "division by zero": ("return 1 // 0", "division by zero"),
    "modulo by zero": ("return 1 % 0", "division by zero"),
    "text plus int": ('return "a" + 1', "operand types"),
    "missing dict key": ("return {}['k']", "not in the dict"),
    "index out of range": ("return [1][5]", "out of range"),
    "pop from empty list": ("return [].pop()", "empty"),
    "int of non-digits": ('return int("12x")', "decimal digits"),
    "str of a list": ("return str([1])", "not allowed"),
    "unhashable key": ("d = {}\nd[[1]] = 1", "cannot be a key"),
    "dict changed while iterating": ("d = {1: 1}\nfor k in d:\n    d[k + 1] = 1", "changed size"),
    "method of the wrong type": ("return (1).upper()", "has no method"),
    "unpack of the wrong length": ("a, b = [1, 2, 3]", "unpack"),
    "iterating an int": ("for i in 5:\n    pass", "iterate"),
    "negative shift": ("return 1 << -1", "negative shift"),
    "negative exponent": ("return 2 ** -1", "negative exponents"),
    "percent formatting": ('return "%d" % 1', "% formatting"),
    "comparing unlike types": ('return 1 < "a"', "operand types"),
    "empty split separator": ('return "a".split("")', "empty"),
    "bytes of big values": ("return bytes([256])", "0..255"),
    "bad hex": ('return bytes.fromhex("zz")', "hexadecimal"),
    "decode of non-utf8": ('return bytes.fromhex("ff").decode()', "UTF-8"),
    "sha256 of text": ('return sha256("abc")', "needs bytes"),
    "zero range step": ("return range(1, 2, 0)", "zero"),
    "zero slice step": ("return [1][::0]", "zero"),
    "max of empty": ("return max([])", "empty"),
    "join of non-text": ('return ",".join([1])', "needs a str"),
}


def test_sha256_gives_the_standard_digest_and_costs_gas_by_length() -> None:
    source = "def main(data: bytes) -> bytes:\n    return sha256(data)\n"
    assert value_of(source, "main", b"abc") == hashlib.sha256(b"abc").digest()
    assert value_of(source, "main", b"") == hashlib.sha256(b"").digest()
    assert run(source, "main", b"x" * 64_000).gas_used > run(source, "main", b"x").gas_used + 3_000


@pytest.mark.parametrize("case", VM_REFUSES.values(), ids=VM_REFUSES.keys())
def test_operations_the_values_do_not_allow_are_runtime_errors_with_a_line(case: tuple[str, str]) -> None:
    body, words = case
    source = "def main():\n    x = 0\n" + "".join(f"    {line}\n" for line in body.splitlines())
    error = run(source).error
    assert type(error) is ContractRuntimeError, repr(error)
    assert words.lower() in error.message.lower(), error.message
    assert error.line is not None and 3 <= error.line <= 2 + len(body.splitlines())


# --- storage maps -------------------------------------------------------------------------------------------------

MAPS = '''
from contract import Map

counts = Map("counts", default=0)
names = Map("names")
pairs = Map("pairs", default=(0, ""))


def bump(key: str) -> int:
    counts[key] += 1
    return counts[key]


def get_name(key: Any) -> Any:
    return names[key]


def set_name(key: Any, value: Any) -> None:
    names[key] = value


def forget(key: Any) -> bool:
    present = key in names
    del names[key]
    return present and key not in names


def pair(key: int) -> Any:
    return pairs[key]
'''


def test_maps_return_their_default_for_missing_keys_and_persist_writes() -> None:
    sandbox = Sandbox()
    sandbox.deploy("m", MAPS)
    assert invoke_guarded(sandbox, "m", "bump", "a").value == 1
    assert invoke_guarded(sandbox, "m", "bump", "a").value == 2
    assert invoke_guarded(sandbox, "m", "bump", "b").value == 1
    assert invoke_guarded(sandbox, "m", "get_name", "nobody").value is None
    assert invoke_guarded(sandbox, "m", "pair", 7).value == (0, "")
    # arguments arrive as canonical CBOR, as on a node: a tuple argument is a list there, and lists are not keys
    assert "a list cannot be a key" in str(invoke_guarded(sandbox, "m", "get_name", ("t", 1)).error)
    invoke_guarded(sandbox, "m", "set_name", "t1", ["x", {"y": b"z"}])
    assert invoke_guarded(sandbox, "m", "get_name", "t1").value == ["x", {"y": b"z"}]
    assert invoke_guarded(sandbox, "m", "forget", "t1").value is True
    assert invoke_guarded(sandbox, "m", "get_name", "t1").value is None
    assert invoke_guarded(sandbox, "m", "forget", "never-set").value is False  # deleting a missing entry is allowed
    keys = {key for contract, key in sandbox.storage}
    assert all(contract == "m" for contract, _ in sandbox.storage)
    assert keys == {b"counts\0" + encode_value("a"), b"counts\0" + encode_value("b")}


@pytest.mark.parametrize("key", [{"a": 1}, ["t", 1], ("t", [1])], ids=["dict", "list", "list in a tuple"])
def test_map_keys_must_be_hashable_values(key: Any) -> None:
    sandbox = Sandbox()
    sandbox.deploy("m", MAPS)
    error = invoke_guarded(sandbox, "m", "get_name", key).error
    assert isinstance(error, ContractRuntimeError) and "cannot be a key" in error.message


# --- gas ----------------------------------------------------------------------------------------------------------

WORK = '''
from contract import Map, emit, event

m = Map("m", default=0)
Done = event("n")


def work(n: int) -> int:
    total = 0
    items = []
    for i in range(n):
        items.append(i * i)
        total += sum(items[-3:])
        m[i % 4] += i
    emit(Done, n=total)
    return total


def spin() -> int:
    n = 0
    while True:
        n += 1
'''


def test_gas_is_deterministic_for_the_same_invocation() -> None:
    first, second = Sandbox(), Sandbox()
    first.deploy("w", WORK)
    second.deploy("w", WORK)
    a = invoke_guarded(first, "w", "work", 50)
    b = invoke_guarded(second, "w", "work", 50)
    assert a.error is None and a.gas_used == b.gas_used > 0
    assert (a.value, a.events) == (b.value, b.events)
    # the same state gives the same gas again; more work costs more
    first_again = Sandbox()
    first_again.deploy("w", WORK)
    assert invoke_guarded(first_again, "w", "work", 50).gas_used == a.gas_used
    assert invoke_guarded(first_again, "w", "work", 60).gas_used > a.gas_used


@pytest.mark.parametrize("gas_limit", [1, 100, 1_000, 77_777])
def test_out_of_gas_stops_at_the_given_limit(gas_limit: int) -> None:
    sandbox = Sandbox()
    sandbox.deploy("w", WORK)
    outcome = invoke_guarded(sandbox, "w", "spin", gas_limit=gas_limit)
    assert isinstance(outcome.error, LimitExceeded) and outcome.error.limit == "gas"
    assert outcome.gas_used == gas_limit
    assert str(gas_limit) in outcome.error.message


def test_a_gas_limit_above_the_protocol_limit_is_lowered_to_it() -> None:
    sandbox = Sandbox(Limits(gas=20_000))
    sandbox.deploy("w", WORK)
    outcome = invoke_guarded(sandbox, "w", "spin", gas_limit=10**12)
    assert isinstance(outcome.error, LimitExceeded) and outcome.gas_used == 20_000


def test_a_single_huge_charge_reports_the_limit_not_the_charge() -> None:
    outcome = run("def main():\n    return sum(range(10**18))\n")
    assert isinstance(outcome.error, LimitExceeded) and outcome.gas_used == Sandbox().limits.gas


def test_gas_used_by_a_successful_call_is_at_most_the_limit_it_needed() -> None:
    sandbox = Sandbox()
    sandbox.deploy("w", WORK)
    needed = invoke_guarded(sandbox, "w", "work", 20).gas_used
    fresh = Sandbox()
    fresh.deploy("w", WORK)
    assert invoke_guarded(fresh, "w", "work", 20, gas_limit=needed).error is None
    again = Sandbox()
    again.deploy("w", WORK)
    assert isinstance(invoke_guarded(again, "w", "work", 20, gas_limit=needed - 1).error, LimitExceeded)


# --- rollback and events ------------------------------------------------------------------------------------------

ROLLBACK = '''
from contract import Map, emit, event, require, write_data, call

m = Map("m", default=0)
Note = event("text")


def good() -> None:
    m["kept"] = 1
    emit(Note, text="kept")
    write_data("acct", "k", b"kept")


def fails_after_writing(how: str) -> None:
    m["lost"] = 1
    m["kept"] = 99
    emit(Note, text="lost")
    write_data("acct", "k", b"lost")
    if how == "require":
        require(False, "no")
    elif how == "runtime":
        x = 1 // 0
    elif how == "gas":
        while True:
            pass
    elif how == "callee":
        call("other", "explode")


def calls_callee_that_writes() -> None:
    call("other", "write_then_fail")
'''

OTHER = '''
from contract import Map, emit, event, require

own = Map("own", default=0)
Boom = event("x")


def explode() -> None:
    own["x"] = 1
    emit(Boom, x=1)
    require(False, "callee refused")


def write_then_fail() -> None:
    own["y"] = 2
    emit(Boom, x=2)
    fail_here = 1 // 0
'''


@pytest.mark.parametrize("how,error_type", [("require", ContractFailure), ("runtime", ContractRuntimeError),
                                            ("gas", LimitExceeded), ("callee", ContractFailure)])
def test_a_failed_invocation_leaves_no_storage_write_data_write_or_event(how: str, error_type: type) -> None:
    sandbox = Sandbox()
    sandbox.deploy("r", ROLLBACK)
    sandbox.deploy("other", OTHER)
    assert invoke_guarded(sandbox, "r", "good").error is None
    before = state_of(sandbox)
    assert before[2] and before[1] == {("acct", "k"): b"kept"}
    outcome = invoke_guarded(sandbox, "r", "fails_after_writing", how, gas_limit=200_000)
    assert type(outcome.error) is error_type, repr(outcome.error)
    assert outcome.events == [] and outcome.value is None
    assert state_of(sandbox) == before


def test_the_next_invocation_does_not_see_a_failed_invocations_writes() -> None:
    sandbox = Sandbox()
    sandbox.deploy("r", ROLLBACK)
    sandbox.deploy("other", OTHER)
    invoke_guarded(sandbox, "r", "fails_after_writing", "require")
    probe = Sandbox()  # same contract, no history
    probe.deploy("r", ROLLBACK)
    probe.deploy("other", OTHER)
    assert state_of(sandbox) == state_of(probe)


def test_events_are_emitted_in_order_with_their_declared_fields() -> None:
    source = '''
from contract import emit, event

Transfer = event("sender", "recipient", "amount")
Note = event("text")


def main() -> None:
    emit(Note, text="first")
    emit(Transfer, amount=5, recipient="bob", sender="alice")
'''
    sandbox = Sandbox()
    sandbox.deploy("e", source)
    outcome = invoke_guarded(sandbox, "e", "main")
    assert outcome.events == [("e", "Note", {"text": "first"}),
                              ("e", "Transfer", {"sender": "alice", "recipient": "bob", "amount": 5})]
    assert [(c, n, decode_value(p)) for c, n, p in sandbox.events] == outcome.events
    assert sandbox.events[1][2] == encode_value({"sender": "alice", "recipient": "bob", "amount": 5})


# --- environment and cross-contract calls -------------------------------------------------------------------------

CALLER = '''
from contract import call, caller, origin, contract_name


def who() -> list:
    return [caller(), origin(), contract_name(), call("callee", "who")]


def deposit(n: int) -> int:
    return call("callee", "deposit", n)


def missing() -> int:
    return call("callee", "no_such_function")


def private() -> int:
    return call("callee", "_secret")


def wrong_type() -> int:
    return call("callee", "deposit", "ten")


def wrong_count() -> int:
    return call("callee", "deposit", 1, 2)
'''

CALLEE = '''
from contract import Map, caller, origin, contract_name, emit, event

vault = Map("vault", default=0)
Deposited = event("by", "n")


def who() -> list:
    return [caller(), origin(), contract_name()]


def deposit(n: int) -> int:
    vault[caller()] += n
    emit(Deposited, by=caller(), n=n)
    return vault[caller()]


def _secret() -> int:
    return 42
'''


def _pair() -> Sandbox:
    sandbox = Sandbox()
    sandbox.deploy("caller-contract", CALLER)
    sandbox.deploy("callee", CALLEE)
    return sandbox


def test_inside_a_called_contract_caller_is_the_calling_contract_and_origin_the_user() -> None:
    outcome = invoke_guarded(_pair(), "caller-contract", "who", origin="user:carol")
    assert outcome.value == ["user:carol", "user:carol", "caller-contract",
                             ["contract:caller-contract", "user:carol", "callee"]]


def test_a_called_contract_writes_its_own_storage_and_emits_its_own_events() -> None:
    sandbox = _pair()
    assert invoke_guarded(sandbox, "caller-contract", "deposit", 10).value == 10
    assert invoke_guarded(sandbox, "caller-contract", "deposit", 5).value == 15
    assert list(sandbox.storage) == [("callee", b"vault\0" + encode_value("contract:caller-contract"))]
    assert [(c, n, decode_value(p)) for c, n, p in sandbox.events][-1] == (
        "callee", "Deposited", {"by": "contract:caller-contract", "n": 5})


@pytest.mark.parametrize("function,words", [("missing", "no public function 'no_such_function'"),
                                            ("private", "no public function '_secret'"),
                                            ("wrong_type", "argument n must be int"),
                                            ("wrong_count", "takes 1 arguments, 2 given")])
def test_a_bad_call_to_another_contract_fails_clearly(function: str, words: str) -> None:
    outcome = invoke_guarded(_pair(), "caller-contract", function)
    assert type(outcome.error) is ContractRuntimeError and words in outcome.error.message, repr(outcome.error)


def test_calling_a_missing_or_frozen_contract_is_refused_by_the_host() -> None:
    sandbox = Sandbox()
    sandbox.deploy("caller-contract", CALLER)
    assert isinstance(invoke_guarded(sandbox, "caller-contract", "deposit", 1).error, HostError)
    sandbox.deploy("callee", CALLEE)
    sandbox.frozen.add("callee")
    outcome = invoke_guarded(sandbox, "caller-contract", "deposit", 1)
    assert isinstance(outcome.error, HostError) and "FROZEN" in outcome.error.message


def test_invoking_an_undeclared_or_private_function_fails_clearly() -> None:
    sandbox = _pair()
    for function in ("nope", "_secret"):
        error = invoke_guarded(sandbox, "callee", function).error
        assert type(error) is ContractRuntimeError and f"no public function {function!r}" in error.message
    error = invoke_guarded(sandbox, "callee", "deposit").error
    assert type(error) is ContractRuntimeError and "takes 1 arguments, 0 given" in error.message
    error = invoke_guarded(sandbox, "callee", "deposit", True).error  # a bool is not an int argument
    assert type(error) is ContractRuntimeError and "must be int" in error.message


def test_a_result_of_the_wrong_declared_type_is_a_runtime_error() -> None:
    error = run('def main() -> int:\n    return "one"\n').error
    assert type(error) is ContractRuntimeError and "declared int" in error.message


def test_the_environment_is_the_block_and_the_invoker() -> None:
    source = '''
from contract import height, block_time, tx_hash, caller_org, caller_roles


def main() -> list:
    return [height(), block_time(), tx_hash(), caller_org(), caller_roles()]
'''
    sandbox = Sandbox()
    sandbox.deploy("env", source)
    outcome = invoke_guarded(sandbox, "env", "main", organisation="org7", roles=("auditor", "admin"))
    assert outcome.value == [sandbox.height, sandbox.time_ms, sandbox.height.to_bytes(32, "big"), "org7",
                             ["auditor", "admin"]]


def test_data_accounts_are_read_and_written_through_the_host() -> None:
    source = '''
from contract import read_data, write_data


def copy(key: str) -> bytes:
    value = read_data("source", key)
    write_data("target", key, value + b"!")
    return value
'''
    sandbox = Sandbox()
    sandbox.data[("source", "k")] = b"v"
    sandbox.deploy("d", source)
    assert invoke_guarded(sandbox, "d", "copy", "k").value == b"v"
    assert sandbox.data[("target", "k")] == b"v!"
    error = invoke_guarded(sandbox, "d", "copy", "missing").error  # read_data gives None: None + bytes
    assert type(error) is ContractRuntimeError
