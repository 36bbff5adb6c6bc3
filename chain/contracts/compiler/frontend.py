"""Source to IR: walk Python's AST, refuse everything outside the dialect, emit IR lists.

Every refusal is a CompileError naming the line and column. Module level
holds only `from contract import ...`, constants (immutable literals), storage
maps (`Map("prefix", default=...)`), event declarations (`event("field", ...)`)
and functions. Permissions (accounts read or written, contracts called) come
from literal arguments and end up in the IR header.
"""
from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from typing import Any

from chain.contracts import dialect
from chain.contracts.errors import CompileError
from chain.contracts.ir.sexpr import MAX_DEPTH as MAX_IR_DEPTH
from chain.contracts.ir.sexpr import Line, Local, Node, Sym, dump
from chain.contracts.limits import (
    MAX_FUNCTIONS,
    MAX_IR_BYTES,
    MAX_NESTING,
    MAX_PARAMS,
    MAX_SOURCE_BYTES,
)
from chain.contracts.values import MAX_DEPTH as MAX_VALUE_DEPTH

IR_VERSION = 1
#: Methods that change their receiver (so an expression calling them has an effect).
_MUTATING_METHODS = {"append", "pop", "insert", "extend", "reverse", "setdefault", "update"}
#: Most IR nodes in one constant (constants are copied into every use, so their size is bounded up front).
MAX_CONSTANT_NODES = 4096
_REFUSED = {
    "Try": "try/except is not allowed: a failed contract rolls back; use require(cond, message)",
    "TryStar": "try/except is not allowed",
    "Raise": "raise is not allowed: use fail(message)",
    "Assert": "assert is not allowed: use require(cond, message)",
    "With": "with is not allowed", "AsyncWith": "async is not allowed", "AsyncFor": "async is not allowed",
    "AsyncFunctionDef": "async is not allowed", "ClassDef": "classes are not allowed",
    "Global": "global state is not allowed: use a storage Map", "Nonlocal": "nonlocal is not allowed",
    "Import": "imports are not allowed (only `from contract import ...`)",
    "ImportFrom": "imports are only allowed at module level, from `contract`",
    "FunctionDef": "nested functions are not allowed", "Lambda": "lambda is not allowed",
    "Match": "match is not allowed", "Set": "sets are not allowed: their iteration order is not deterministic",
    "SetComp": "sets are not allowed: their iteration order is not deterministic",
    "Await": "async is not allowed", "Yield": "generators are not allowed", "YieldFrom": "generators are not allowed",
    "NamedExpr": "the := operator is not allowed", "Starred": "*unpacking is not allowed",
    "Attribute": "attribute access is not allowed (only method calls such as items.append(x))",
}


def _fail(node: ast.AST | None, message: str) -> CompileError:
    line = getattr(node, "lineno", None)
    column = getattr(node, "col_offset", None)
    return CompileError(message, line, None if column is None else column + 1)


def _check_identifier(name: str, node: ast.AST) -> None:
    if "__" in name:
        raise _fail(node, f"name {name!r}: dunder names are not allowed")


@dataclass
class _Module:
    """What module level declares."""

    constants: dict[str, Node] = field(default_factory=dict)
    maps: dict[str, list[Node]] = field(default_factory=dict)
    events: dict[str, tuple[str, ...]] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    imported: set[str] = field(default_factory=set)
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)


def compile_source(source: str, filename: str = "contract.py") -> str:
    """Compile dialect source to canonical IR text."""
    return dump(compile_tree(source, filename)) + "\n"


def compile_tree(source: str, filename: str = "contract.py") -> list[Node]:
    """Compile dialect source to an IR tree."""
    if not isinstance(source, str):
        raise CompileError("source must be text")
    raw = source.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_SOURCE_BYTES:
        raise CompileError(f"source is {len(raw)} bytes; the limit is {MAX_SOURCE_BYTES}")
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise CompileError(f"syntax error: {exc.msg}", exc.lineno, exc.offset) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise CompileError(f"source cannot be parsed: {type(exc).__name__}") from None
    module = _Module()
    _declare(tree, module)
    functions = [_FunctionCompiler(module, fn).compile() for fn in module.functions.values()]
    _refuse_recursion(module)
    modes = _modes(module, functions)
    header: list[Node] = [Sym("contract"), [Sym("ir"), IR_VERSION],
                          [Sym("source"), filename, hashlib.sha256(raw).digest()]]
    header += [[Sym("storage"), Sym(name), *spec] for name, spec in module.maps.items()]
    header += [[Sym("event"), Sym(name), *[Sym(f) for f in fields]] for name, fields in module.events.items()]
    header += [[Sym("reads"), name] for name in sorted(module.reads)]
    header += [[Sym("writes"), name] for name in sorted(module.writes)]
    header += [[Sym("calls"), name] for name in sorted(module.calls)]
    for fn in functions:
        fn.insert(3, [Sym("mode"), Sym(modes[str(fn[1])])])
    _check_ir(header, functions)
    return header + functions


def _check_ir(header: list[Node], functions: list[list[Node]]) -> None:
    """Refuse programs the loader would refuse for their shape: nesting past the IR's limit, or too large.

    Source nesting counts Python's AST, which nests less than the IR (an `if` is two IR levels), and constants are
    copied into every use; so the IR itself is walked, stopping at the first node past a limit, and the refusal
    names the line of the statement holding it. Every node prints as at least one character, so more nodes than
    MAX_IR_BYTES means text the loader would refuse.
    """
    nodes = len(header)
    for fn in functions:
        stack: list[tuple[Any, int, int]] = [(fn, 2, int(fn[6]))]  # type: ignore[arg-type]
        while stack:
            node, depth, line = stack.pop()
            nodes += 1
            if nodes > MAX_IR_BYTES:
                raise CompileError(f"the compiled contract is larger than {MAX_IR_BYTES} bytes", line)
            if type(node) is not list:
                continue
            if len(node) > 1 and isinstance(node[1], Line):
                line = int(node[1])
            if depth > MAX_IR_DEPTH:
                raise CompileError(f"code nests deeper than the IR allows ({MAX_IR_DEPTH} levels); split it into functions", line)
            stack.extend((child, depth + 1, line) for child in node)


def _check_constant(node: ast.AST, value: Node) -> Node:
    """Refuse constants nested deeper than a contract value may be, or too large to copy into every use."""
    count = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > MAX_CONSTANT_NODES:
            raise _fail(node, f"a constant may have at most {MAX_CONSTANT_NODES} items")
        if type(item) is list:
            if depth >= MAX_VALUE_DEPTH:
                raise _fail(node, f"a constant may nest at most {MAX_VALUE_DEPTH} levels")
            stack.extend((child, depth + 1) for child in item[1:])
    return value


def _declare(tree: ast.Module, module: _Module) -> None:
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    for stmt in body:
        if isinstance(stmt, ast.ImportFrom):
            _declare_import(stmt, module)
        elif isinstance(stmt, ast.FunctionDef):
            _check_identifier(stmt.name, stmt)
            if stmt.name in module.functions or stmt.name in module.constants or stmt.name in module.maps:
                raise _fail(stmt, f"{stmt.name!r} is defined twice")
            module.functions[stmt.name] = stmt
            if len(module.functions) > MAX_FUNCTIONS:
                raise _fail(stmt, f"more than {MAX_FUNCTIONS} functions")
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            _declare_assignment(stmt, module)
        else:
            raise _fail(stmt, _REFUSED.get(type(stmt).__name__, f"{type(stmt).__name__} is not allowed at module level"))
    if not module.functions:
        raise CompileError("a contract needs at least one function")


def _declare_import(stmt: ast.ImportFrom, module: _Module) -> None:
    if stmt.module != "contract" or stmt.level:
        raise _fail(stmt, f"only `from contract import ...` is allowed, not {stmt.module!r}")
    for alias in stmt.names:
        if alias.name not in dialect.IMPORTABLE:
            raise _fail(stmt, f"`contract` has no {alias.name!r}; it offers {', '.join(sorted(dialect.IMPORTABLE))}")
        if alias.asname is not None:
            raise _fail(stmt, "import aliases are not allowed")
        module.imported.add(alias.name)


def _declare_assignment(stmt: ast.Assign | ast.AnnAssign, module: _Module) -> None:
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    if len(targets) != 1 or not isinstance(targets[0], ast.Name) or stmt.value is None:
        raise _fail(stmt, "module level may only bind one name to a constant, a Map or an event")
    name = targets[0].id
    _check_identifier(name, stmt)
    if name in module.constants or name in module.maps or name in module.events:
        raise _fail(stmt, f"{name!r} is defined twice: module-level names are constants")
    value = stmt.value
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in ("Map", "event"):
        if value.func.id not in module.imported:
            raise _fail(value, f"{value.func.id} must be imported from contract")
        if value.func.id == "Map":
            module.maps[name] = _map_spec(value, module)
        else:
            module.events[name] = _event_spec(value)
        return
    try:
        constant = _literal(value, module)
    except CompileError:
        raise _fail(stmt, f"{name!r}: module level holds only immutable constants (global mutable state is not allowed)") from None
    module.constants[name] = _check_constant(stmt, constant)


def _map_spec(call: ast.Call, module: _Module) -> list[Node]:
    if len(call.args) != 1 or not isinstance(call.args[0], ast.Constant) or not isinstance(call.args[0].value, str):
        raise _fail(call, 'Map needs one literal prefix: Map("balances") or Map("balances", default=0)')
    default: Node = None
    for keyword in call.keywords:
        if keyword.arg != "default":
            raise _fail(call, "Map takes only default=")
        default = _check_constant(call, _literal(keyword.value, module))
    prefix = call.args[0].value
    if not prefix or len(prefix) > 64:
        raise _fail(call, "a Map prefix is 1..64 characters")
    if any(spec[0] == prefix for spec in module.maps.values()):
        raise _fail(call, f"two maps share the prefix {prefix!r}")
    return [prefix, default]


def _event_spec(call: ast.Call) -> tuple[str, ...]:
    if call.keywords or not call.args:
        raise _fail(call, 'event declares its fields as literal names: event("sender", "to", "amount")')
    fields = []
    for arg in call.args:
        if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str) or not arg.value.isidentifier():
            raise _fail(call, "event fields are literal identifiers")
        _check_identifier(arg.value, call)
        fields.append(arg.value)
    if len(set(fields)) != len(fields):
        raise _fail(call, "an event field is declared twice")
    return tuple(fields)


def _literal(node: ast.expr, module: _Module) -> Node:
    """An immutable constant: int, str, bytes, bool, None, negative ints and tuples of these."""
    if isinstance(node, ast.Constant):
        return _constant(node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        value = _constant(node.operand)
        if type(value) is int:
            return -value
    if isinstance(node, ast.Name) and node.id in module.constants:
        return module.constants[node.id]
    if isinstance(node, ast.Tuple):
        return [Sym("tuple"), *[_literal(item, module) for item in node.elts]]
    raise _fail(node, "a constant must be an int, str, bytes, bool, None or a tuple of these")


def _constant(node: ast.Constant) -> Node:
    value = node.value
    if type(value) in (bool, int, bytes) or value is None:
        return value  # type: ignore[return-value]
    if type(value) is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _fail(node, "string literal is not valid UTF-8 (lone surrogate)") from None
        return value
    if type(value) is float:
        raise _fail(node, "floats are not allowed: use integers (fixed-point, e.g. cents)")
    raise _fail(node, f"{type(value).__name__} literals are not allowed")


class _FunctionCompiler:
    """Compiles one function: resolves names, checks nesting, emits its IR."""

    def __init__(self, module: _Module, fn: ast.FunctionDef) -> None:
        self.module = module
        self.fn = fn
        self.calls: list[tuple[str, ast.AST]] = []
        self.scopes: list[dict[str, str]] = []  # comprehension variables -> their hidden local names
        self.hidden = 0
        self.loops = 0  # enclosing loops of the statement being compiled (break and continue need one)
        self.locals = self._collect_locals()

    def compile(self) -> list[Node]:
        fn = self.fn
        args = fn.args
        if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs or args.defaults or args.kw_defaults:
            raise _fail(fn, "functions take plain positional parameters only (no defaults, *args or **kwargs)")
        if fn.decorator_list:
            raise _fail(fn, "decorators are not allowed")
        if len(args.args) > MAX_PARAMS:
            raise _fail(fn, f"more than {MAX_PARAMS} parameters")
        params: list[Node] = [Sym("params")]
        for arg in args.args:
            _check_identifier(arg.arg, arg)
            params.append([Sym(arg.arg), Sym(self._type(arg.annotation, arg))])
        returns = self._type(fn.returns, fn)
        visibility = "private" if fn.name.startswith("_") else "public"
        _check_depth(fn, MAX_NESTING)
        body = self.block(_skip_docstring(fn.body))
        self.module.functions[fn.name]._calls = self.calls  # type: ignore[attr-defined]
        return [Sym("function"), Sym(fn.name), Sym(visibility), params, [Sym("returns"), Sym(returns)], Line(fn.lineno), body]

    def _type(self, annotation: ast.expr | None, node: ast.AST) -> str:
        if annotation is None:
            return "any"
        if isinstance(annotation, ast.Constant) and annotation.value is None:
            return "none"
        base = annotation.value if isinstance(annotation, ast.Subscript) else annotation
        if isinstance(base, ast.Name) and base.id in dialect.PARAM_TYPES:
            return dialect.PARAM_TYPES[base.id]
        raise _fail(node, f"unsupported type annotation; use one of {', '.join(sorted(dialect.PARAM_TYPES))}")

    def _collect_locals(self) -> set[str]:
        names = {arg.arg for arg in self.fn.args.args}
        for node in ast.walk(self.fn):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
        for name in names:
            if name in self.module.maps or name in self.module.functions or name in self.module.events:
                raise _fail(self.fn, f"{name!r} names a module-level declaration and cannot be assigned")
            if name in dialect.IMPORTABLE or name in dialect.BUILTINS:
                raise _fail(self.fn, f"{name!r} is a builtin or API name and cannot be assigned")
        return names

    # statements

    def block(self, stmts: list[ast.stmt]) -> list[Node]:
        out: list[Node] = [Sym("do")]
        for stmt in stmts:
            compiled = self.statement(stmt)
            if compiled is not None:
                out.append(compiled)
        return out

    def statement(self, stmt: ast.stmt) -> Node:
        line = Line(stmt.lineno)
        kind = type(stmt).__name__
        if isinstance(stmt, ast.Expr):
            return self._expression_statement(stmt.value, line)
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1:
                raise _fail(stmt, "chained assignment (a = b = ...) is not allowed")
            return self._assign(stmt.targets[0], self.expr(stmt.value), line)
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is None:
                raise _fail(stmt, "a declaration without a value is not allowed")
            return self._assign(stmt.target, self.expr(stmt.value), line)
        if isinstance(stmt, ast.AugAssign):
            return self._augmented(stmt, line)
        if isinstance(stmt, ast.If):
            return [Sym("if"), line, self.expr(stmt.test), self.block(stmt.body), self.block(stmt.orelse)]
        if isinstance(stmt, ast.While):
            if stmt.orelse:
                raise _fail(stmt, "while/else is not allowed")
            return [Sym("while"), line, self.expr(stmt.test), self._loop_body(stmt.body)]
        if isinstance(stmt, ast.For):
            if stmt.orelse:
                raise _fail(stmt, "for/else is not allowed")
            return [Sym("for"), line, self._targets(stmt.target), self.expr(stmt.iter), self._loop_body(stmt.body)]
        if isinstance(stmt, ast.Return):
            return [Sym("return"), line, None if stmt.value is None else self.expr(stmt.value)]
        if isinstance(stmt, ast.Pass):
            return None
        if isinstance(stmt, (ast.Break, ast.Continue)):
            word = "break" if isinstance(stmt, ast.Break) else "continue"
            if not self.loops:
                raise _fail(stmt, f"'{word}' outside a loop")
            return [Sym(word), line]
        if isinstance(stmt, ast.Delete):
            return self._delete(stmt, line)
        raise _fail(stmt, _REFUSED.get(kind, f"{kind} statements are not allowed"))

    def _loop_body(self, stmts: list[ast.stmt]) -> list[Node]:
        self.loops += 1
        try:
            return self.block(stmts)
        finally:
            self.loops -= 1

    def _expression_statement(self, value: ast.expr, line: Line) -> Node:
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            name = value.func.id
            if name in ("require", "fail", "emit") and name not in self.locals:
                self._need_import(name, value)
                return getattr(self, "_" + name)(value, line)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            raise _fail(value, "a string statement does nothing (docstrings only at the start of a function)")
        return [Sym("eval"), line, self.expr(value)]

    def _require(self, call: ast.Call, line: Line) -> Node:
        if call.keywords or len(call.args) != 2:
            raise _fail(call, 'require takes a condition and a message: require(amount > 0, "amount must be positive")')
        return [Sym("require"), line, self.expr(call.args[0]), self.expr(call.args[1])]

    def _fail(self, call: ast.Call, line: Line) -> Node:
        if call.keywords or len(call.args) != 1:
            raise _fail(call, "fail takes one message")
        return [Sym("fail"), line, self.expr(call.args[0])]

    def _emit(self, call: ast.Call, line: Line) -> Node:
        if len(call.args) != 1 or not isinstance(call.args[0], ast.Name) or call.args[0].id not in self.module.events:
            raise _fail(call, "emit takes a declared event and its fields by name: emit(Transfer, sender=a, to=b, amount=n)")
        name = call.args[0].id
        fields = self.module.events[name]
        given = {kw.arg: kw.value for kw in call.keywords}
        if None in given or set(given) != set(fields):
            raise _fail(call, f"emit({name}, ...) needs exactly the fields {', '.join(fields)}")
        return [Sym("emit"), line, Sym(name), *[self.expr(given[f]) for f in fields]]

    def _assign(self, target: ast.expr, value: Node, line: Line) -> Node:
        if isinstance(target, ast.Name):
            self._check_local_target(target)
            return [Sym("let"), line, Local(target.id), value]
        if isinstance(target, ast.Tuple):
            return [Sym("unpack"), line, self._targets(target), value]
        if isinstance(target, ast.Subscript):
            if isinstance(target.slice, ast.Slice):
                raise _fail(target, "slice assignment is not allowed")
            if isinstance(target.value, ast.Name) and target.value.id in self.module.maps and target.value.id not in self.locals:
                return [Sym("store"), line, Sym(target.value.id), self.expr(target.slice), value]
            return [Sym("setitem"), line, self.expr(target.value), self.expr(target.slice), value]
        raise _fail(target, "you can assign to a name, a tuple of names or an item")

    def _augmented(self, stmt: ast.AugAssign, line: Line) -> Node:
        op = dialect.BINARY.get(type(stmt.op).__name__)
        if op is None:
            raise _fail(stmt, "use // for integer division: / gives floats, which are not allowed")
        target = stmt.target
        if isinstance(target, ast.Name):
            current = self.expr(ast.copy_location(ast.Name(target.id, ast.Load()), target))
        elif isinstance(target, ast.Subscript):
            # the container and key are evaluated twice (to read, then to write): effects there would happen twice
            if any(self._has_effects(node) for node in ast.walk(target)):
                raise _fail(stmt, "an augmented assignment's item may not call contract functions, call(), write_data() "
                            "or methods that change a value (they would run twice): compute the key first")
            current = self.expr(ast.copy_location(ast.Subscript(target.value, target.slice, ast.Load()), target))
        else:
            raise _fail(stmt, "augmented assignment needs a name or an item")
        return self._assign(target, [Sym(op), current, self.expr(stmt.value)], line)

    def _has_effects(self, node: ast.AST) -> bool:
        """A call that may change state or a value: to a contract function, call(), write_data() or a mutating method."""
        if not isinstance(node, ast.Call):
            return False
        if isinstance(node.func, ast.Attribute):
            return node.func.attr in _MUTATING_METHODS
        return isinstance(node.func, ast.Name) and (node.func.id in self.module.functions or node.func.id in ("call", "write_data"))

    def _delete(self, stmt: ast.Delete, line: Line) -> Node:
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Subscript):
            raise _fail(stmt, "del removes one item: del balances[key] or del items[i]")
        target = stmt.targets[0]
        if isinstance(target.value, ast.Name) and target.value.id in self.module.maps and target.value.id not in self.locals:
            return [Sym("erase"), line, Sym(target.value.id), self.expr(target.slice)]
        return [Sym("delitem"), line, self.expr(target.value), self.expr(target.slice)]

    def _targets(self, target: ast.expr) -> list[Node]:
        names = target.elts if isinstance(target, ast.Tuple) else [target]
        out: list[Node] = []
        for name in names:
            if not isinstance(name, ast.Name):
                raise _fail(target, "loop and unpacking targets must be plain names")
            out.append(Local(self._resolve_store(name)))
        return out

    def _check_local_target(self, target: ast.Name) -> None:
        _check_identifier(target.id, target)

    def _resolve_store(self, name: ast.Name) -> str:
        _check_identifier(name.id, name)
        for scope in reversed(self.scopes):
            if name.id in scope:
                return scope[name.id]
        return name.id

    # expressions

    def expr(self, node: ast.expr) -> Node:
        method = getattr(self, "_x_" + type(node).__name__, None)
        if method is None:
            kind = type(node).__name__
            raise _fail(node, _REFUSED.get(kind, f"{kind} expressions are not allowed"))
        return method(node)  # type: ignore[no-any-return]

    def _x_Constant(self, node: ast.Constant) -> Node:
        return _constant(node)

    def _x_Name(self, node: ast.Name) -> Node:
        _check_identifier(node.id, node)
        for scope in reversed(self.scopes):
            if node.id in scope:
                return Local(scope[node.id])
        if node.id in self.locals:
            return Local(node.id)
        if node.id in self.module.constants:
            return self.module.constants[node.id]
        if node.id in self.module.maps:
            raise _fail(node, f"storage map {node.id!r} is used through items: {node.id}[key]")
        if node.id in self.module.functions or node.id in dialect.BUILTINS or node.id in dialect.IMPORTABLE:
            raise _fail(node, f"{node.id!r} can only be called")
        raise _fail(node, f"name {node.id!r} is not defined")

    def _x_BinOp(self, node: ast.BinOp) -> Node:
        op = dialect.BINARY.get(type(node.op).__name__)
        if op is None:
            raise _fail(node, "use // for integer division: / gives floats, which are not allowed"
                        if isinstance(node.op, ast.Div) else f"operator {type(node.op).__name__} is not allowed")
        return [Sym(op), self.expr(node.left), self.expr(node.right)]

    def _x_UnaryOp(self, node: ast.UnaryOp) -> Node:
        return [Sym(dialect.UNARY[type(node.op).__name__]), self.expr(node.operand)]

    def _x_BoolOp(self, node: ast.BoolOp) -> Node:
        return [Sym("and" if isinstance(node.op, ast.And) else "or"), *[self.expr(v) for v in node.values]]

    def _x_Compare(self, node: ast.Compare) -> Node:
        if len(node.ops) > 1 and not all(isinstance(c, (ast.Name, ast.Constant)) for c in node.comparators[:-1]):
            raise _fail(node, "a chained comparison's middle operands must be names or constants")
        parts: list[Node] = []
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            parts.append(self._compare(op, left, right, node))
            left = right
        return parts[0] if len(parts) == 1 else [Sym("and"), *parts]

    def _compare(self, op: ast.cmpop, left: ast.expr, right: ast.expr, node: ast.AST) -> Node:
        if isinstance(op, (ast.Is, ast.IsNot)):
            if not (isinstance(right, ast.Constant) and right.value is None):
                raise _fail(node, "`is` compares with None only; use == for values")
            test: Node = [Sym("is-none"), self.expr(left)]
            return test if isinstance(op, ast.Is) else [Sym("not"), test]
        if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, ast.Name) and right.id in self.module.maps and right.id not in self.locals:
            test = [Sym("has"), Sym(right.id), self.expr(left)]
            return test if isinstance(op, ast.In) else [Sym("not"), test]
        return [Sym(dialect.COMPARE[type(op).__name__]), self.expr(left), self.expr(right)]

    def _x_IfExp(self, node: ast.IfExp) -> Node:
        return [Sym("cond"), self.expr(node.test), self.expr(node.body), self.expr(node.orelse)]

    def _x_List(self, node: ast.List) -> Node:
        return [Sym("list"), *[self.expr(e) for e in node.elts]]

    def _x_Tuple(self, node: ast.Tuple) -> Node:
        return [Sym("tuple"), *[self.expr(e) for e in node.elts]]

    def _x_Dict(self, node: ast.Dict) -> Node:
        out: list[Node] = [Sym("dict")]
        for key, value in zip(node.keys, node.values):
            if key is None:
                raise _fail(node, "**unpacking is not allowed")
            out += [self.expr(key), self.expr(value)]
        return out

    def _x_Subscript(self, node: ast.Subscript) -> Node:
        if isinstance(node.value, ast.Name) and node.value.id in self.module.maps and node.value.id not in self.locals:
            if isinstance(node.slice, ast.Slice):
                raise _fail(node, "a storage map cannot be sliced")
            return [Sym("load"), Sym(node.value.id), self.expr(node.slice)]
        if isinstance(node.slice, ast.Slice):
            s = node.slice
            parts = [None if p is None else self.expr(p) for p in (s.lower, s.upper, s.step)]
            return [Sym("slice"), self.expr(node.value), *parts]
        return [Sym("index"), self.expr(node.value), self.expr(node.slice)]

    def _x_JoinedStr(self, node: ast.JoinedStr) -> Node:
        parts: list[Node] = [Sym("concat")]
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(_constant(value))
            elif isinstance(value, ast.FormattedValue):
                if value.conversion != -1 or value.format_spec is not None:
                    raise _fail(value, "f-string conversions and format specs are not allowed: write f\"{x}\"")
                parts.append([Sym("to-str"), self.expr(value.value)])
            else:
                raise _fail(value, "unsupported f-string part")
        return parts

    def _x_ListComp(self, node: ast.ListComp) -> Node:
        return self._comprehension(node, node.elt, None)

    def _x_GeneratorExp(self, node: ast.GeneratorExp) -> Node:
        return self._comprehension(node, node.elt, None)

    def _x_DictComp(self, node: ast.DictComp) -> Node:
        return self._comprehension(node, node.key, node.value)

    def _comprehension(self, node: ast.ListComp | ast.GeneratorExp | ast.DictComp, elt: ast.expr, value: ast.expr | None) -> Node:
        if len(node.generators) != 1 or node.generators[0].is_async:
            raise _fail(node, "a comprehension has exactly one `for`")
        gen = node.generators[0]
        iterable = self.expr(gen.iter)
        names = gen.target.elts if isinstance(gen.target, ast.Tuple) else [gen.target]
        scope: dict[str, str] = {}
        for name in names:
            if not isinstance(name, ast.Name):
                raise _fail(node, "comprehension targets must be plain names")
            _check_identifier(name.id, name)
            self.hidden += 1
            scope[name.id] = f"{name.id}#{self.hidden}"
        self.scopes.append(scope)
        try:
            targets: list[Node] = [Local(scope[n.id]) for n in names]  # type: ignore[attr-defined]
            condition: Node = True
            if gen.ifs:
                condition = self.expr(gen.ifs[0]) if len(gen.ifs) == 1 else [Sym("and"), *[self.expr(c) for c in gen.ifs]]
            if value is None:
                return [Sym("list-comp"), targets, iterable, condition, self.expr(elt)]
            return [Sym("dict-comp"), targets, iterable, condition, self.expr(elt), self.expr(value)]
        finally:
            self.scopes.pop()

    def _x_Call(self, node: ast.Call) -> Node:
        if isinstance(node.func, ast.Attribute):
            return self._method(node)
        if not isinstance(node.func, ast.Name):
            raise _fail(node, "only named functions and methods can be called")
        name = node.func.id
        _check_identifier(name, node)
        if node.keywords:
            raise _fail(node, f"{name}(): keyword arguments are only for emit()")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise _fail(node, "*unpacking is not allowed")
        args = node.args
        if name in self.locals:
            raise _fail(node, f"{name!r} is a local value and cannot be called")
        if name in self.module.functions:
            target = self.module.functions[name]
            if len(args) != len(target.args.args):
                raise _fail(node, f"{name}() takes {len(target.args.args)} arguments, {len(args)} given")
            self.calls.append((name, node))
            return [Sym("call"), Sym(name), *[self.expr(a) for a in args]]
        if name in dialect.BUILTINS:
            op, low, high = dialect.BUILTINS[name]
            _arity(node, name, len(args), low, high)
            return [Sym(op), *[self.expr(a) for a in args]]
        if name in dialect.API:
            self._need_import(name, node)
            op, low, high = dialect.API[name]
            _arity(node, name, len(args), low, high)
            return self._api(node, name, op, args)
        if name in ("require", "fail", "emit"):
            raise _fail(node, f"{name}() is a statement, not a value")
        if name in ("Map", "event"):
            raise _fail(node, f"{name}() declares at module level only")
        if name in ("hash", "id", "set", "frozenset", "float", "eval", "exec", "compile", "open", "print", "input",
                    "getattr", "setattr", "delattr", "hasattr", "globals", "locals", "vars", "dir", "type", "isinstance",
                    "__import__", "super", "object", "repr", "format", "iter", "next", "chr", "ord", "memoryview",
                    "bytearray", "round", "pow", "callable", "classmethod", "staticmethod", "property", "breakpoint"):
            raise _fail(node, f"{name}() is not available in contracts")
        raise _fail(node, f"function {name!r} is not defined")

    def _api(self, node: ast.Call, name: str, op: str, args: list[ast.expr]) -> Node:
        if name in ("read_data", "write_data", "call"):
            first = args[0]
            if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
                raise _fail(node, f"{name}() needs a literal {'contract' if name == 'call' else 'account'} name "
                            "(it is declared in the contract's header)")
            {"read_data": self.module.reads, "write_data": self.module.writes, "call": self.module.calls}[name].add(first.value)
            if name == "call" and not (isinstance(args[1], ast.Constant) and isinstance(args[1].value, str)):
                raise _fail(node, "call() needs a literal function name")
        return [Sym(op), *[self.expr(a) for a in args]]

    def _method(self, node: ast.Call) -> Node:
        func = node.func
        assert isinstance(func, ast.Attribute)
        _check_identifier(func.attr, node)
        if func.attr not in dialect.METHODS:
            raise _fail(node, f"method {func.attr!r} is not available; contracts may call {', '.join(sorted(dialect.METHODS))}")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise _fail(node, "methods take positional arguments only")
        low, high = dialect.METHODS[func.attr]
        _arity(node, func.attr, len(node.args), low, high)
        if isinstance(func.value, ast.Name) and func.value.id in self.module.maps and func.value.id not in self.locals:
            raise _fail(node, f"storage map {func.value.id!r} has no methods: use {func.value.id}[key]")
        if func.attr == "fromhex":
            if not (isinstance(func.value, ast.Name) and func.value.id == "bytes"):
                raise _fail(node, "fromhex is called as bytes.fromhex(text)")
            return [Sym("from-hex"), self.expr(node.args[0])]
        return [Sym("method"), Sym(func.attr), self.expr(func.value), *[self.expr(a) for a in node.args]]

    def _need_import(self, name: str, node: ast.AST) -> None:
        if name not in self.module.imported:
            raise _fail(node, f"{name} must be imported: from contract import {name}")


def _arity(node: ast.AST, name: str, given: int, low: int, high: int) -> None:
    if not low <= given <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise _fail(node, f"{name}() takes {expected} arguments, {given} given")


def _skip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _check_depth(fn: ast.FunctionDef, limit: int) -> None:
    """Refuse functions nested deeper than the limit (the VM's stack use is bounded by it)."""
    stack: list[tuple[ast.AST, int]] = [(child, 1) for child in fn.body]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise _fail(node, f"code nests deeper than {limit} levels; split it into functions")
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.expr_context, ast.operator, ast.cmpop, ast.unaryop, ast.boolop)):
                continue
            stack.append((child, depth + 1))


def _refuse_recursion(module: _Module) -> None:
    """Refuse call cycles: recursion depth would depend on data, so it is unbounded."""
    graph = {name: getattr(fn, "_calls", []) for name, fn in module.functions.items()}
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for callee, node in graph[name]:
            if state.get(callee) == 1:
                cycle = " -> ".join(path[path.index(callee):] + [callee]) if callee in path else f"{name} -> {callee}"
                raise _fail(node, f"recursion is not allowed ({cycle}): use a loop")
            if callee not in state:
                visit(callee, path + [callee])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


def _modes(module: _Module, functions: list[list[Node]]) -> dict[str, str]:
    """`view` for functions that (with what they call) change no state, else `write`."""
    direct: dict[str, bool] = {}
    for fn in functions:
        direct[str(fn[1])] = dialect.writes_state(fn[-1])
    graph = {name: [callee for callee, _ in getattr(module.functions[name], "_calls", [])] for name in direct}
    modes = {}
    for name in direct:
        seen, todo, writes = set(), [name], False
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            writes = writes or direct[current]
            todo += graph[current]
        modes[name] = "write" if writes else "view"
    return modes

