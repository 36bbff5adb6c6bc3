"""A loaded contract: the IR checked form by form and compiled to nested Python closures.

Frames are Python lists: slot 0 is the Meter, slot 1 the Call (contract,
host, environment, caller), slot 2 the Function, then parameters and locals. A statement closure
pays its static gas (one unit per IR node in it) before it runs, maps Python
errors to ContractRuntimeError with its line, and returns None, BREAK,
CONTINUE or a Return.
"""
from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import Any, Callable

from chain.contracts import dialect
from chain.contracts.errors import (
    ContractError,
    ContractFailure,
    ContractRuntimeError,
    HostError,
    IRError,
    LimitExceeded,
    ValueEncodingError,
)
from chain.contracts.host import Environment, Host
from chain.contracts.ir.sexpr import Line, Local, Sym, parse
from chain.contracts.limits import (
    GAS_CALL,
    GAS_CONTRACT_CALL,
    GAS_EMIT,
    GAS_EMIT_BYTE,
    GAS_LOAD,
    GAS_STORE,
    GAS_STORE_BYTE,
    MAX_FUNCTIONS,
    MAX_PARAMS,
)
from chain.contracts.values import (
    TYPE_NAMES,
    conforms,
    decode_value,
    encode_value,
    type_name,
)
from chain.contracts.vm import ops
from chain.contracts.vm.meter import Meter
from chain.contracts.vm.methods import call_method

# Closures call closures without using the C stack on 3.11; nesting is bounded by the IR depth
# (64) times the call depth (32), far below this limit, so a RecursionError cannot depend on the caller.
if sys.getrecursionlimit() < 6000:
    sys.setrecursionlimit(6000)

Fn = Callable[[list[Any]], Any]


class _Signal:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


BREAK = _Signal("break")
CONTINUE = _Signal("continue")
UNSET = _Signal("unset")


class Return:
    """A function's result travelling up through blocks."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


@dataclass
class Call:
    """One contract frame's facts: whose storage, which host, who called."""

    contract: str
    program: Program
    host: Host
    env: Environment
    caller: str


@dataclass
class Function:
    """A compiled function with its ABI."""

    name: str
    public: bool
    mode: str
    params: tuple[tuple[str, str], ...]
    returns: str
    line: int
    slots: int
    slot_names: tuple[str, ...]
    body: Fn = lambda f: None

    def abi(self) -> dict[str, Any]:
        """The function's signature as data."""
        return {"name": self.name, "mode": self.mode, "params": [list(p) for p in self.params], "returns": self.returns}


_PYTHON_ERRORS = {
    ZeroDivisionError: "division by zero",
    TypeError: "the operand types do not fit this operation",
    KeyError: "missing key",
    IndexError: "index out of range",
    ValueError: "invalid value for this operation",
    OverflowError: "number too large for this operation",
    RuntimeError: "a container changed size while it was iterated",
}


def _python_error(exc: BaseException) -> str:
    for cls, message in _PYTHON_ERRORS.items():
        if isinstance(exc, cls):
            return message
    return type(exc).__name__


class Program:
    """A deployed contract version, ready to run."""

    def __init__(self, tree: Any, text: str) -> None:
        self.text = text
        self.maps: dict[str, tuple[bytes, Any]] = {}
        self.events: dict[str, tuple[str, ...]] = {}
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.calls: set[str] = set()
        self.functions: dict[str, Function] = {}
        self.source: tuple[str, bytes] = ("", b"")
        self._load(tree)

    # header

    def _load(self, tree: Any) -> None:
        if type(tree) is not list or not tree or tree[0] != "contract":
            raise IRError("an IR program is (contract ...)")
        forms = tree[1:]
        if not forms or forms[0] != [Sym("ir"), 1]:
            raise IRError("the first form must be (ir 1)")
        bodies = []
        for form in forms[1:]:
            if type(form) is not list or not form or not isinstance(form[0], Sym):
                raise IRError(f"unexpected header item {form!r}")
            head = str(form[0])
            if head == "function":
                bodies.append(self._declare_function(form))
            elif head == "source" and len(form) == 3 and type(form[1]) is str and type(form[2]) is bytes:
                self.source = (form[1], form[2])
            elif head == "storage" and len(form) == 4 and isinstance(form[1], Sym) and type(form[2]) is str:
                self._declare_map(form)
            elif head == "event" and len(form) >= 3 and all(isinstance(x, Sym) for x in form[1:]):
                fields = tuple(str(x) for x in form[2:])
                if str(form[1]) in self.events or len(set(fields)) != len(fields):
                    raise IRError(f"event {form[1]} is declared twice or repeats a field")
                self.events[str(form[1])] = fields
            elif head in ("reads", "writes", "calls") and len(form) == 2 and type(form[1]) is str and form[1]:
                getattr(self, head).add(form[1])
            else:
                raise IRError(f"malformed header item ({head} ...)")
        if not self.functions:
            raise IRError("a program needs at least one function")
        for fn, form in bodies:
            fn.body = _FunctionBuilder(self, fn, form).build()
        for fn, form in bodies:
            self._check_view(fn, form)

    def _check_view(self, fn: Function, body: list[Any]) -> None:
        """A function declared `view` may neither change state nor call a function that may."""
        if fn.mode != "view":
            return
        if dialect.writes_state(body):
            raise IRError(f"function {fn.name} is declared view but changes state", fn.line)
        for callee in sorted(dialect.internal_calls(body)):
            if self.functions[callee].mode != "view":
                raise IRError(f"function {fn.name} is declared view but calls {callee}, which is not", fn.line)

    def _declare_map(self, form: list[Any]) -> None:
        name, prefix = str(form[1]), form[2]
        if name in self.maps or not prefix or any(p[0] == prefix.encode() + b"\0" for p in self.maps.values()):
            raise IRError(f"storage map {name} is declared twice or shares a prefix")
        self.maps[name] = (prefix.encode("utf-8") + b"\0", _constant(form[3]))

    def _declare_function(self, form: list[Any]) -> tuple[Function, list[Any]]:
        form = [_type_names(x) if type(x) is list and x[:1] in (["params"], ["returns"]) else x for x in form]
        if (len(form) != 8 or not isinstance(form[1], Sym) or form[2] not in ("public", "private")
                or type(form[3]) is not list or form[3][:1] != ["mode"] or len(form[3]) != 2 or form[3][1] not in ("view", "write")
                or type(form[4]) is not list or form[4][:1] != ["params"]
                or type(form[5]) is not list or len(form[5]) != 2 or form[5][0] != "returns" or not isinstance(form[5][1], str)
                or form[5][1] not in TYPE_NAMES
                or not isinstance(form[6], Line) or type(form[7]) is not list or form[7][:1] != ["do"]):
            raise IRError("a function is (function NAME public|private (mode view|write) (params ...) (returns TYPE) @LINE (do ...))")
        name = str(form[1])
        if name in self.functions:
            raise IRError(f"function {name} is defined twice")
        params = []
        for p in form[4][1:]:
            if type(p) is not list or len(p) != 2 or not isinstance(p[0], Sym) or not isinstance(p[1], str) or p[1] not in TYPE_NAMES:
                raise IRError(f"function {name}: a parameter is (NAME TYPE)")
            params.append((str(p[0]), str(p[1])))
        if len(params) > MAX_PARAMS or len({p[0] for p in params}) != len(params):
            raise IRError(f"function {name}: too many or repeated parameters")
        fn = Function(name, form[2] == "public", str(form[3][1]), tuple(params), str(form[5][1]), int(form[6]), 0, ())
        self.functions[name] = fn
        if len(self.functions) > MAX_FUNCTIONS:
            raise IRError(f"more than {MAX_FUNCTIONS} functions")
        return fn, form[7]

    # running

    def abi(self) -> dict[str, Any]:
        """Functions, events and permissions as data."""
        return {
            "functions": [fn.abi() for fn in self.functions.values() if fn.public],
            "events": {name: list(fields) for name, fields in self.events.items()},
            "storage": {name: spec[0][:-1].decode() for name, spec in self.maps.items()},
            "reads": sorted(self.reads), "writes": sorted(self.writes), "calls": sorted(self.calls),
            "source": {"file": self.source[0], "sha256": self.source[1].hex()},
        }

    def run(self, meter: Meter, host: Host, env: Environment, contract: str, function: str, args: list[Any],
            caller: str) -> Any:
        """Run a public function in a new contract frame."""
        fn = self.functions.get(function)
        if fn is None or not fn.public:
            raise ContractRuntimeError(f"contract {contract!r} has no public function {function!r}")
        return call_function(meter, Call(contract, self, host, env, caller), fn, args)


def call_function(m: Meter, call: Call, fn: Function, args: list[Any]) -> Any:
    """Check arguments, push a frame, run the body, check the result."""
    if len(args) != len(fn.params):
        raise ContractRuntimeError(f"{fn.name}() takes {len(fn.params)} arguments, {len(args)} given")
    for value, (name, tp) in zip(args, fn.params):
        if not conforms(value, tp):
            raise ContractRuntimeError(f"{fn.name}(): argument {name} must be {tp}, not {type_name(value)}")
    m.depth += 1
    try:
        if m.depth > m.limits.call_depth:
            raise LimitExceeded(f"call depth exceeds {m.limits.call_depth}", None, "depth")
        frame = [m, call, fn, *args]
        frame.extend([UNSET] * (fn.slots - len(frame)))
        result = fn.body(frame)
    finally:
        m.depth -= 1
    value = result.value if type(result) is Return else None
    if not conforms(value, fn.returns):
        raise ContractRuntimeError(f"{fn.name}() returned {type_name(value)}, declared {fn.returns}", fn.line)
    return value


def _type_names(node: list[Any]) -> list[Any]:
    """`none` parses as the None literal; as a type it is the type name "none"."""
    if node[0] == "returns":
        return [node[0], *["none" if p is None else p for p in node[1:]]]
    return [node[0], *[[p[0], "none" if p[1] is None else p[1]] if type(p) is list and len(p) == 2 else p for p in node[1:]]]


def _constant(node: Any) -> Any:
    if type(node) in (int, str, bytes, bool) or node is None:
        return node
    if type(node) is list and node and node[0] == "tuple":
        return tuple(_constant(x) for x in node[1:])
    raise IRError(f"{node!r} is not a constant")


MAX_KEY_BYTES = 1024


def map_key(m: Meter, prefix: bytes, key: Any) -> bytes:
    """The storage key of a map entry: prefix, NUL, canonical CBOR of the key (at most MAX_KEY_BYTES)."""
    ops.hashable_key(m, key)
    if ops.exceeds_encoded_size(key, MAX_KEY_BYTES):
        raise ContractRuntimeError(f"a map key is more than {MAX_KEY_BYTES} bytes encoded; the limit is {MAX_KEY_BYTES}")
    try:
        raw = encode_value(key)
    except ValueEncodingError as exc:
        raise ContractRuntimeError(f"map key: {exc.message}") from None
    if len(raw) > MAX_KEY_BYTES:
        raise ContractRuntimeError(f"a map key is {len(raw)} bytes encoded; the limit is {MAX_KEY_BYTES}")
    return prefix + raw


_ARITY: dict[str, tuple[int, int]] = {op: (low, high) for op, low, high in dialect.BUILTINS.values()}
_ARITY["from-hex"] = (1, 1)
#: Instructions that read the invocation's environment: frame slot 1 is the Call.
_ENV: dict[str, Fn] = {
    "caller": lambda f: f[1].caller,
    "origin": lambda f: f[1].env.origin,
    "caller-org": lambda f: f[1].env.organisation,
    "caller-roles": lambda f: list(f[1].env.roles),
    "height": lambda f: f[1].env.height,
    "block-time": lambda f: f[1].env.time_ms,
    "tx-hash": lambda f: f[1].env.tx_hash,
    "contract-name": lambda f: f[1].contract,
}


class _FunctionBuilder:
    """Compiles one function's IR to closures, checking each form."""

    def __init__(self, program: Program, fn: Function, body: list[Any]) -> None:
        self.program = program
        self.fn = fn
        self.body = body
        self.slots: dict[str, int] = {}
        for name, _ in fn.params:
            self._slot(name)
        self.line = fn.line

    def build(self) -> Fn:
        run = self.block(self.body)
        self.fn.slots = 3 + len(self.slots)
        self.fn.slot_names = tuple(self.slots)
        return run

    def _slot(self, name: str) -> int:
        if name not in self.slots:
            self.slots[name] = 3 + len(self.slots)
        return self.slots[name]

    def fail(self, message: str) -> IRError:
        return IRError(f"function {self.fn.name}: {message}", self.line)

    # blocks and statements

    def block(self, node: Any) -> Fn:
        if type(node) is not list or node[:1] != ["do"]:
            raise self.fail("expected a (do ...) block")
        stmts = tuple(self.statement(s) for s in node[1:])
        if not stmts:
            return lambda f: None
        if len(stmts) == 1:
            return stmts[0]

        def run(f: list[Any]) -> Any:
            for stmt in stmts:
                r = stmt(f)
                if r is not None:
                    return r
            return None

        return run

    def statement(self, node: Any) -> Fn:
        if type(node) is not list or len(node) < 2 or not isinstance(node[0], Sym) or not isinstance(node[1], Line):
            raise self.fail(f"a statement is (INSTRUCTION @LINE ...), got {node!r}"[:200])
        self.line = line = int(node[1])
        head, args = str(node[0]), node[2:]
        builder = None if "_" in head else getattr(self, "_s_" + head.replace("-", "_"), None)
        if builder is None:
            raise self.fail(f"unknown statement {head}")
        run, cost = builder(args)
        return _wrap(line, cost + 1, run)

    def _count(self, n: int, args: list[Any], what: str) -> None:
        if len(args) != n:
            raise self.fail(f"{what} takes {n} operands")

    def _s_let(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(2, args, "let")
        if not isinstance(args[0], Local):
            raise self.fail("let needs a $local")
        slot = self._slot(str(args[0]))
        value, cost = self.expr(args[1])

        def run(f: list[Any]) -> None:
            f[slot] = value(f)

        return run, cost

    def _targets(self, node: Any) -> list[int]:
        if type(node) is not list or not node or not all(isinstance(x, Local) for x in node):
            raise self.fail("targets are a list of $locals")
        return [self._slot(str(x)) for x in node]

    def _s_unpack(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(2, args, "unpack")
        slots = self._targets(args[0])
        value, cost = self.expr(args[1])

        def run(f: list[Any]) -> None:
            _unpack(f, slots, value(f))

        return run, cost

    def _s_setitem(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(3, args, "setitem")
        (obj, c1), (key, c2), (value, c3) = (self.expr(a) for a in args)

        def run(f: list[Any]) -> None:
            v = value(f)  # Python evaluates the assigned value before the target's container and key
            ops.setitem(f[0], obj(f), key(f), v)

        return run, c1 + c2 + c3

    def _s_delitem(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(2, args, "delitem")
        (obj, c1), (key, c2) = (self.expr(a) for a in args)

        def run(f: list[Any]) -> None:
            ops.delitem(f[0], obj(f), key(f))

        return run, c1 + c2

    def _map(self, node: Any) -> tuple[str, bytes, Any]:
        if not isinstance(node, Sym) or str(node) not in self.program.maps:
            raise self.fail(f"{node!r} is not a declared storage map")
        prefix, default = self.program.maps[str(node)]
        return str(node), prefix, default

    def _s_store(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(3, args, "store")
        name, prefix, _ = self._map(args[0])
        (key, c1), (value, c2) = self.expr(args[1]), self.expr(args[2])

        def run(f: list[Any]) -> None:
            m, c = f[0], f[1]
            v = value(f)  # Python evaluates the assigned value before the key
            k = key(f)
            raw = _encoded(m, v, m.limits.value_bytes, "a stored value")
            m.charge(GAS_STORE + GAS_STORE_BYTE * len(raw))
            c.host.store(c.contract, map_key(m, prefix, k), raw)
            if m.accesses is not None:
                m.accesses.append(("write", c.contract, [name, k], v))

        return run, c1 + c2

    def _s_erase(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(2, args, "erase")
        name, prefix, _ = self._map(args[0])
        key, c1 = self.expr(args[1])

        def run(f: list[Any]) -> None:
            m, c = f[0], f[1]
            k = key(f)
            m.charge(GAS_STORE)
            c.host.store(c.contract, map_key(m, prefix, k), None)
            if m.accesses is not None:
                m.accesses.append(("delete", c.contract, [name, k], None))

        return run, c1

    def _s_if(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(3, args, "if")
        test, cost = self.expr(args[0])
        yes, no = self.block(args[1]), self.block(args[2])

        def run(f: list[Any]) -> Any:
            return yes(f) if test(f) else no(f)

        return run, cost

    def _s_while(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(2, args, "while")
        test, cost = self.expr(args[0])
        body = self.block(args[1])
        per_turn = cost + 1
        line = self.line

        def run(f: list[Any]) -> Any:
            m = f[0]
            while True:
                m.gas += per_turn
                if m.gas > m.gas_limit:
                    raise LimitExceeded(f"out of gas: the limit is {m.gas_limit}", line, "gas")
                if not test(f):
                    return None
                r = body(f)
                if r is not None:
                    if r is BREAK:
                        return None
                    if r is not CONTINUE:
                        return r

        return run, 0

    def _s_for(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(3, args, "for")
        slots = self._targets(args[0])
        iterable, cost = self.expr(args[1])
        body = self.block(args[2])
        line = self.line
        single = slots[0] if len(slots) == 1 else None

        def run(f: list[Any]) -> Any:
            m = f[0]
            for item in _iterate(iterable(f)):
                m.gas += 2
                if m.gas > m.gas_limit:
                    raise LimitExceeded(f"out of gas: the limit is {m.gas_limit}", line, "gas")
                if single is not None:
                    f[single] = item
                else:
                    _unpack(f, slots, item)
                r = body(f)
                if r is not None:
                    if r is BREAK:
                        return None
                    if r is not CONTINUE:
                        return r
            return None

        return run, cost

    def _s_return(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(1, args, "return")
        value, cost = self.expr(args[0])
        return (lambda f: Return(value(f))), cost

    def _s_require(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(2, args, "require")
        (test, c1), (message, c2) = self.expr(args[0]), self.expr(args[1])

        def run(f: list[Any]) -> None:
            if not test(f):
                raise ContractFailure(_message(message(f)))

        return run, c1 + c2

    def _s_fail(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(1, args, "fail")
        message, cost = self.expr(args[0])

        def run(f: list[Any]) -> None:
            raise ContractFailure(_message(message(f)))

        return run, cost

    def _s_emit(self, args: list[Any]) -> tuple[Fn, int]:
        if not args or not isinstance(args[0], Sym) or str(args[0]) not in self.program.events:
            raise self.fail("emit needs a declared event")
        event = str(args[0])
        fields = self.program.events[event]
        self._count(len(fields) + 1, args, f"emit {event}")
        values = [self.expr(a) for a in args[1:]]
        cost = sum(c for _, c in values)
        getters = [v for v, _ in values]

        def run(f: list[Any]) -> None:
            m, c = f[0], f[1]
            payload = {name: get(f) for name, get in zip(fields, getters)}
            raw = _encoded(m, payload, m.limits.event_bytes, "an event")
            m.event_bytes += len(raw)
            if m.event_bytes > m.limits.event_bytes:
                raise LimitExceeded(f"events exceed {m.limits.event_bytes} bytes", None, "output")
            m.charge(GAS_EMIT + GAS_EMIT_BYTE * len(raw))
            c.host.emit(c.contract, event, raw)
            m.events.append((c.contract, event, payload))

        return run, cost

    def _s_break(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(0, args, "break")
        return (lambda f: BREAK), 0

    def _s_continue(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(0, args, "continue")
        return (lambda f: CONTINUE), 0

    def _s_eval(self, args: list[Any]) -> tuple[Fn, int]:
        self._count(1, args, "eval")
        value, cost = self.expr(args[0])

        def run(f: list[Any]) -> None:
            value(f)

        return run, cost

    # expressions

    def expr(self, node: Any) -> tuple[Fn, int]:
        tp = type(node)
        if tp is Local:
            return self._local(str(node)), 1
        if tp is list:
            if not node or not isinstance(node[0], Sym):
                raise self.fail(f"an expression is (INSTRUCTION ...), got {node!r}"[:200])
            head = str(node[0])
            run, cost = self._compound(head, node[1:])
            return run, cost + 1
        if tp in (int, str, bytes, bool) or node is None:
            value = node
            return (lambda f: value), 1
        raise self.fail(f"unexpected {node!r} in an expression"[:200])

    def _local(self, name: str) -> Fn:
        slot = self._slot(name)

        def get(f: list[Any]) -> Any:
            value = f[slot]
            if value is UNSET:
                raise ContractRuntimeError(f"{name.split('#')[0]} is used before it is assigned")
            return value

        return get

    def _all(self, nodes: list[Any]) -> tuple[list[Fn], int]:
        compiled = [self.expr(n) for n in nodes]
        return [c[0] for c in compiled], sum(c[1] for c in compiled)

    def _compound(self, head: str, args: list[Any]) -> tuple[Fn, int]:
        if head in ops.BINARY:
            if len(args) != 2:
                raise self.fail(f"{head} takes 2 operands")
            op = ops.BINARY[head]
            (a, c1), (b, c2) = self.expr(args[0]), self.expr(args[1])
            return (lambda f: op(f[0], a(f), b(f))), c1 + c2
        if head in ops.UNARY:
            if len(args) != 1:
                raise self.fail(f"{head} takes 1 operand")
            op1 = ops.UNARY[head]
            a, c1 = self.expr(args[0])
            return (lambda f: op1(f[0], a(f))), c1
        if head in _ARITY:
            low, high = _ARITY[head]
            if not low <= len(args) <= high:
                raise self.fail(f"{head} takes {low}..{high} operands")
            builtin = ops.BUILTINS[head]
            getters, cost = self._all(args)
            return (lambda f: builtin(f[0], *[g(f) for g in getters])), cost + GAS_CALL
        if head in _ENV:
            if args:
                raise self.fail(f"{head} takes no operands")
            return _ENV[head], 0
        method = None if "_" in head else getattr(self, "_x_" + head.replace("-", "_"), None)
        if method is None:
            raise self.fail(f"unknown instruction {head}")
        return method(args)  # type: ignore[no-any-return]

    def _x_and(self, args: list[Any]) -> tuple[Fn, int]:
        return self._logic(args, True)

    def _x_or(self, args: list[Any]) -> tuple[Fn, int]:
        return self._logic(args, False)

    def _logic(self, args: list[Any], conjunction: bool) -> tuple[Fn, int]:
        if len(args) < 2:
            raise self.fail("and/or take at least 2 operands")
        getters, cost = self._all(args)
        first, last = getters[:-1], getters[-1]

        def run(f: list[Any]) -> Any:
            for get in first:
                value = get(f)
                if (not value) if conjunction else value:
                    return value
            return last(f)

        return run, cost

    def _x_cond(self, args: list[Any]) -> tuple[Fn, int]:
        if len(args) != 3:
            raise self.fail("cond takes 3 operands")
        (t, c1), (a, c2), (b, c3) = (self.expr(x) for x in args)
        return (lambda f: a(f) if t(f) else b(f)), c1 + c2 + c3

    def _x_list(self, args: list[Any]) -> tuple[Fn, int]:
        getters, cost = self._all(args)
        return (lambda f: ops.new_list(f[0], [g(f) for g in getters])), cost

    def _x_tuple(self, args: list[Any]) -> tuple[Fn, int]:
        getters, cost = self._all(args)
        return (lambda f: ops.new_tuple(f[0], [g(f) for g in getters])), cost

    def _x_dict(self, args: list[Any]) -> tuple[Fn, int]:
        if len(args) % 2:
            raise self.fail("dict takes key/value pairs")
        getters, cost = self._all(args)
        return (lambda f: ops.new_dict(f[0], [g(f) for g in getters])), cost

    def _x_concat(self, args: list[Any]) -> tuple[Fn, int]:
        getters, cost = self._all(args)
        return (lambda f: ops.concat(f[0], [g(f) for g in getters])), cost

    def _x_index(self, args: list[Any]) -> tuple[Fn, int]:
        if len(args) != 2:
            raise self.fail("index takes 2 operands")
        (obj, c1), (key, c2) = self.expr(args[0]), self.expr(args[1])
        return (lambda f: ops.index(f[0], obj(f), key(f))), c1 + c2

    def _x_slice(self, args: list[Any]) -> tuple[Fn, int]:
        if len(args) != 4:
            raise self.fail("slice takes 4 operands")
        (obj, c1), (lo, c2), (hi, c3), (step, c4) = (self.expr(a) for a in args)
        return (lambda f: ops.slice_(f[0], obj(f), lo(f), hi(f), step(f))), c1 + c2 + c3 + c4

    def _x_method(self, args: list[Any]) -> tuple[Fn, int]:
        if len(args) < 2 or not isinstance(args[0], Sym) or str(args[0]) not in dialect.METHODS:
            raise self.fail("method needs a known method name and a receiver")
        name = str(args[0])
        low, high = dialect.METHODS[name]
        if not low <= len(args) - 2 <= high:
            raise self.fail(f"method {name} takes {low}..{high} arguments")
        (obj, c1), (getters, c2) = self.expr(args[1]), self._all(args[2:])
        return (lambda f: call_method(f[0], name, obj(f), [g(f) for g in getters])), c1 + c2 + GAS_CALL

    def _x_load(self, args: list[Any]) -> tuple[Fn, int]:
        if len(args) != 2:
            raise self.fail("load takes a map and a key")
        name, prefix, default = self._map(args[0])
        key, cost = self.expr(args[1])

        def run(f: list[Any]) -> Any:
            m, c = f[0], f[1]
            k = key(f)
            m.charge(GAS_LOAD)
            raw = c.host.load(c.contract, map_key(m, prefix, k))
            if raw is None:
                value = default
            else:
                m.alloc(1 + len(raw) // 16)
                value = decode_value(raw)
            if m.accesses is not None:
                m.accesses.append(("read", c.contract, [name, k], value))
            return value

        return run, cost

    def _x_has(self, args: list[Any]) -> tuple[Fn, int]:
        if len(args) != 2:
            raise self.fail("has takes a map and a key")
        name, prefix, _ = self._map(args[0])
        key, cost = self.expr(args[1])

        def run(f: list[Any]) -> bool:
            m, c = f[0], f[1]
            k = key(f)
            m.charge(GAS_LOAD)
            present = c.host.load(c.contract, map_key(m, prefix, k)) is not None
            if m.accesses is not None:
                m.accesses.append(("read", c.contract, [name, k], present))
            return present

        return run, cost

    def _x_call(self, args: list[Any]) -> tuple[Fn, int]:
        if not args or not isinstance(args[0], Sym) or str(args[0]) not in self.program.functions:
            raise self.fail(f"call of an unknown function {args[:1]!r}")
        target = self.program.functions[str(args[0])]
        if len(args) - 1 != len(target.params):
            raise self.fail(f"{target.name} takes {len(target.params)} arguments")
        getters, cost = self._all(args[1:])
        return (lambda f: call_function(f[0], f[1], target, [g(f) for g in getters])), cost + GAS_CALL

    def _comprehension(self, args: list[Any], n: int) -> tuple[list[int], Fn, Fn, list[Fn], int]:
        if len(args) != n:
            raise self.fail("malformed comprehension")
        slots = self._targets(args[0])
        (iterable, c1), (test, c2) = self.expr(args[1]), self.expr(args[2])
        getters, c3 = self._all(args[3:])
        return slots, iterable, test, getters, c1 + c2 + c3

    def _x_list_comp(self, args: list[Any]) -> tuple[Fn, int]:
        slots, iterable, test, (elt,), cost = self._comprehension(args, 4)
        per_item = cost + 1

        def run(f: list[Any]) -> list[Any]:
            m = f[0]
            out: list[Any] = []
            for item in _iterate(iterable(f)):
                m.charge(per_item)
                _unpack(f, slots, item) if len(slots) > 1 else f.__setitem__(slots[0], item)
                if test(f):
                    if len(out) >= m.limits.max_items:
                        raise ops.too_big("list")
                    m.alloc(1)
                    out.append(elt(f))
            return out

        return run, 0

    def _x_dict_comp(self, args: list[Any]) -> tuple[Fn, int]:
        slots, iterable, test, (key, value), cost = self._comprehension(args, 5)
        per_item = cost + 1

        def run(f: list[Any]) -> dict[Any, Any]:
            m = f[0]
            out: dict[Any, Any] = {}
            for item in _iterate(iterable(f)):
                m.charge(per_item)
                _unpack(f, slots, item) if len(slots) > 1 else f.__setitem__(slots[0], item)
                if test(f):
                    if len(out) >= m.limits.max_items:
                        raise ops.too_big("dict")
                    m.alloc(1)
                    out[ops.hashable_key(m, key(f))] = value(f)
            return out

        return run, 0

    def _declared(self, node: Any, allowed: set[str], what: str) -> str:
        if type(node) is not str or node not in allowed:
            raise self.fail(f"{what} {node!r} is not declared in the header")
        return node

    def _x_read_data(self, args: list[Any]) -> tuple[Fn, int]:
        if len(args) != 2:
            raise self.fail("read-data takes an account and a key")
        account = self._declared(args[0], self.program.reads, "read account")
        key, cost = self.expr(args[1])

        def run(f: list[Any]) -> bytes | None:
            m, c = f[0], f[1]
            k = key(f)
            if type(k) is not str or not 0 < len(k.encode("utf-8")) <= MAX_KEY_BYTES:
                raise ContractRuntimeError(f"data account keys are str of 1..{MAX_KEY_BYTES} bytes")
            m.charge(GAS_LOAD)
            value = c.host.read_data(c.contract, account, k)
            if value is not None:
                m.alloc(1 + len(value) // 16)
            if m.accesses is not None:
                m.accesses.append(("read-data", account, k, value))
            return value

        return run, cost

    def _x_write_data(self, args: list[Any]) -> tuple[Fn, int]:
        if len(args) != 3:
            raise self.fail("write-data takes an account, a key and a value")
        account = self._declared(args[0], self.program.writes, "write account")
        (key, c1), (value, c2) = self.expr(args[1]), self.expr(args[2])

        def run(f: list[Any]) -> None:
            m, c = f[0], f[1]
            k, v = key(f), value(f)
            if type(k) is not str or type(v) is not bytes:
                raise ContractRuntimeError("write_data takes a str key and a bytes value")
            if len(v) > m.limits.value_bytes:
                raise LimitExceeded(f"a written value exceeds {m.limits.value_bytes} bytes", None, "output")
            m.charge(GAS_STORE + GAS_STORE_BYTE * len(v))
            c.host.write_data(c.contract, account, k, v)
            if m.accesses is not None:
                m.accesses.append(("write-data", account, k, v))

        return run, c1 + c2

    def _x_call_contract(self, args: list[Any]) -> tuple[Fn, int]:
        if len(args) < 2 or type(args[1]) is not str:
            raise self.fail("call-contract takes a contract, a function name and arguments")
        contract = self._declared(args[0], self.program.calls, "called contract")
        function = args[1]
        getters, cost = self._all(args[2:])

        def run(f: list[Any]) -> Any:
            m, c = f[0], f[1]
            values = [g(f) for g in getters]
            encoded = _encoded(m, values, m.limits.output_bytes, "call arguments")
            m.charge(GAS_CONTRACT_CALL + len(encoded) // 16)
            callee = c.host.program(contract)
            result = callee.run(m, c.host, c.env, contract, function, decode_value(encoded), f"contract:{c.contract}")
            return decode_value(_encoded(m, result, m.limits.output_bytes, "a call result"))

        return run, cost


def _wrap(line: int, cost: int, run: Fn) -> Fn:
    """Meter, trace hook and error mapping around one statement."""

    def stmt(f: list[Any]) -> Any:
        m = f[0]
        m.gas += cost
        if m.gas > m.gas_limit:
            raise LimitExceeded(f"out of gas: the limit is {m.gas_limit}", line, "gas")
        if m.on_step is not None:
            m.line = line
            m.on_step(line, f)
        try:
            return run(f)
        except ContractError as exc:
            if exc.line is None:
                exc.line = line
            raise
        except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError, RuntimeError) as exc:
            raise ContractRuntimeError(_python_error(exc), line) from None

    return stmt


def _iterate(value: Any) -> Any:
    tp = type(value)
    if tp in (list, tuple, dict, range, str, bytes):
        return value
    raise ContractRuntimeError(f"cannot iterate over {type_name(value)}")


def _unpack(f: list[Any], slots: list[int], value: Any) -> None:
    if type(value) not in (list, tuple) or len(value) != len(slots):
        raise ContractRuntimeError(f"cannot unpack {type_name(value)} into {len(slots)} names")
    for slot, item in zip(slots, value):
        f[slot] = item


def _message(value: Any) -> str:
    if type(value) is not str:
        raise ContractRuntimeError("a failure message must be str")
    return value[:512]


def _encoded(m: Meter, value: Any, limit: int, what: str) -> bytes:
    if ops.exceeds_encoded_size(value, limit):  # before encoding: a shared-parts value may stand for gigabytes
        raise LimitExceeded(f"{what} is more than {limit} bytes; the limit is {limit}", None, "output")
    try:
        raw = encode_value(value)
    except ValueEncodingError as exc:
        raise ContractRuntimeError(f"{what}: {exc.message}") from None
    if len(raw) > limit:
        raise LimitExceeded(f"{what} is {len(raw)} bytes; the limit is {limit}", None, "output")
    return raw


@functools.lru_cache(maxsize=256)
def load_program(code: bytes) -> Program:
    """Parse, check and compile deployed IR (memoised by its exact bytes)."""
    if type(code) is not bytes:
        raise IRError("contract code must be bytes")
    try:
        text = code.decode("utf-8")
    except UnicodeDecodeError:
        raise IRError("contract code is not UTF-8 text") from None
    return Program(parse(text), text)


__all__ = ["BREAK", "CONTINUE", "Call", "Function", "HostError", "Program", "Return", "call_function", "load_program"]
