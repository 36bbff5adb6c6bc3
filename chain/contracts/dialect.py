"""The contract dialect's vocabulary, shared by the compiler (to check source) and the VM (to check IR)."""
from __future__ import annotations

#: Binary operators: Python AST class name -> IR instruction.
BINARY = {
    "Add": "add", "Sub": "sub", "Mult": "mul", "FloorDiv": "floordiv", "Mod": "mod", "Pow": "pow",
    "LShift": "lshift", "RShift": "rshift", "BitOr": "bitor", "BitXor": "bitxor", "BitAnd": "bitand",
}
COMPARE = {"Eq": "eq", "NotEq": "ne", "Lt": "lt", "LtE": "le", "Gt": "gt", "GtE": "ge", "In": "in", "NotIn": "not-in"}
UNARY = {"USub": "neg", "UAdd": "pos", "Not": "not", "Invert": "invert"}

#: Builtin functions: source name -> (IR instruction, min args, max args).
BUILTINS: dict[str, tuple[str, int, int]] = {
    "len": ("len", 1, 1), "abs": ("abs", 1, 1), "min": ("min", 1, 8), "max": ("max", 1, 8),
    "range": ("range", 1, 3), "sorted": ("sorted", 1, 1), "reversed": ("reversed", 1, 1), "sum": ("sum", 1, 1),
    "any": ("any", 1, 1), "all": ("all", 1, 1), "enumerate": ("enumerate", 1, 1), "zip": ("zip", 2, 4),
    "divmod": ("divmod", 2, 2), "str": ("to-str", 1, 1), "int": ("to-int", 1, 1), "bool": ("to-bool", 1, 1),
    "bytes": ("to-bytes", 1, 1), "list": ("to-list", 0, 1), "tuple": ("to-tuple", 0, 1), "dict": ("to-dict", 0, 1),
    "sha256": ("sha256", 1, 1),
}

#: Methods callable on values: name -> (min args, max args), the receiver not counted.
METHODS: dict[str, tuple[int, int]] = {
    "append": (1, 1), "pop": (0, 2), "insert": (2, 2), "extend": (1, 1), "index": (1, 1), "count": (1, 1),
    "reverse": (0, 0), "copy": (0, 0), "get": (1, 2), "keys": (0, 0), "values": (0, 0), "items": (0, 0),
    "setdefault": (2, 2), "update": (1, 1), "startswith": (1, 1), "endswith": (1, 1), "split": (0, 2),
    "join": (1, 1), "upper": (0, 0), "lower": (0, 0), "strip": (0, 1), "replace": (2, 2), "find": (1, 1),
    "encode": (0, 0), "decode": (0, 0), "hex": (0, 0), "isdigit": (0, 0), "fromhex": (1, 1),
}

#: Ledger API reachable from contracts: source name -> (IR instruction, min args, max args).
API: dict[str, tuple[str, int, int]] = {
    "caller": ("caller", 0, 0), "origin": ("origin", 0, 0), "caller_org": ("caller-org", 0, 0),
    "caller_roles": ("caller-roles", 0, 0), "height": ("height", 0, 0), "block_time": ("block-time", 0, 0),
    "tx_hash": ("tx-hash", 0, 0), "contract_name": ("contract-name", 0, 0),
    "call": ("call-contract", 2, 2 + 16), "read_data": ("read-data", 2, 2), "write_data": ("write-data", 3, 3),
}
#: Names importable from `contract` that are declarations or statements rather than API calls.
SPECIAL = {"require", "fail", "emit", "event", "Map"}
IMPORTABLE = set(API) | SPECIAL

#: API instructions that change state (a function using them, directly or through calls, is not a view).
WRITING = {"store", "erase", "emit", "write-data", "call-contract"}

PARAM_TYPES = {"int": "int", "str": "str", "bytes": "bytes", "bool": "bool", "list": "list", "tuple": "list",
               "dict": "dict", "None": "none", "Any": "any"}


def writes_state(node: object) -> bool:
    """True if an IR tree contains an instruction that changes state (calls of other functions not followed)."""
    if type(node) is list:
        if node and isinstance(node[0], str) and str(node[0]) in WRITING:
            return True
        return any(writes_state(child) for child in node)
    return False


def internal_calls(node: object) -> set[str]:
    """Names of the contract's own functions an IR tree calls."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if type(item) is list:
            if len(item) >= 2 and item[0] == "call" and isinstance(item[1], str):
                found.add(str(item[1]))
            stack.extend(item)
    return found
