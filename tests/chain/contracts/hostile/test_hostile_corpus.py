"""Every hostile contract in this folder ends the way its header says: refused at compile time, or stopped cleanly.

Each `*.py` file here (other than this one) is one attack. Its first line is a
docstring naming the attack and the expected outcome; a header comment encodes
that outcome for this test:

    # expect: compile          CompileError with a line number; the offending line ends with `# <- refused`
    # expect: limit:KIND       outcome.error is LimitExceeded with .limit == KIND (gas, memory, integer, depth, output)
    # expect: runtime          outcome.error is ContractRuntimeError
    # expect: failure          outcome.error is ContractFailure
    # name: NAME               deploy the contract under NAME (default "hostile")
    # peer: NAME FILE          also deploy another file of this folder under NAME

Files that compile are deployed in a fresh Sandbox and their `attack()` is
invoked under a wall-clock guard: no Python exception may escape, no
invocation may take more than five seconds, and a failed invocation leaves no
storage write, data write or event behind.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from chain.contracts import CompileError, ContractFailure, ContractRuntimeError, LimitExceeded, compile_source
from chain.contracts.sandbox import Sandbox

from ..harness import WALL_CLOCK_SECONDS, state_of, timed_invoke

HERE = Path(__file__).parent
CORPUS = sorted(p for p in HERE.glob("*.py") if not p.name.startswith("test_") and p.name != "__init__.py")
LIMIT_KINDS = {"gas", "memory", "integer", "depth", "output"}
REFUSED_MARK = "# <- refused"


def _headers(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = re.fullmatch(r"# (expect|name|peer): (.+)", line.strip())
        if match:
            found.setdefault(match.group(1), []).append(match.group(2).strip())
    return found


def _expectation(path: Path) -> str:
    expect = _headers(path.read_text())["expect"]
    assert len(expect) == 1, f"{path.name}: exactly one `# expect:` line"
    return expect[0]


def test_the_corpus_is_large_and_every_file_declares_its_attack_and_outcome() -> None:
    assert len(CORPUS) >= 32
    kinds = set()
    for path in CORPUS:
        text = path.read_text()
        first = text.splitlines()[0]
        assert first.startswith('"""Attack: ') and "expected: " in first and first.endswith('"""'), path.name
        expect = _expectation(path)
        assert expect in {"compile", "runtime", "failure"} or (
            expect.startswith("limit:") and expect.split(":", 1)[1] in LIMIT_KINDS), f"{path.name}: {expect}"
        marks = [n for n, line in enumerate(text.splitlines(), 1) if line.rstrip().endswith(REFUSED_MARK)]
        assert len(marks) == (1 if expect == "compile" else 0), f"{path.name}: one `{REFUSED_MARK}` line iff compile"
        kinds.add(expect)
    # every way of being stopped is exercised by some file
    assert kinds >= {"compile", "runtime", "failure", *(f"limit:{k}" for k in LIMIT_KINDS)}


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_hostile_contract_ends_as_declared(path: Path) -> None:
    text = path.read_text()
    expect = _expectation(path)
    headers = _headers(text)
    if expect == "compile":
        start = time.monotonic()
        with pytest.raises(CompileError) as refused:
            compile_source(text, path.name)
        assert time.monotonic() - start < WALL_CLOCK_SECONDS
        marked = next(n for n, line in enumerate(text.splitlines(), 1) if line.rstrip().endswith(REFUSED_MARK))
        assert refused.value.line == marked, f"refusal names line {refused.value.line}: {refused.value}"
        assert str(refused.value).startswith(f"line {marked}")
        return

    sandbox = Sandbox()
    for peer in headers.get("peer", []):
        peer_name, peer_file = peer.split()
        sandbox.deploy(peer_name, (HERE / peer_file).read_text())
    name = headers.get("name", ["hostile"])[0]
    sandbox.deploy(name, text)
    before = state_of(sandbox)

    outcome, seconds = timed_invoke(sandbox, name, "attack")

    assert seconds < WALL_CLOCK_SECONDS, f"attack() ran {seconds:.1f} s before {outcome.error!r}"
    error = outcome.error
    if expect.startswith("limit:"):
        assert isinstance(error, LimitExceeded), f"expected {expect}, got {error!r}"
        assert error.limit == expect.split(":", 1)[1], f"expected {expect}, got limit {error.limit}: {error}"
    elif expect == "runtime":
        assert type(error) is ContractRuntimeError, f"expected a runtime error, got {error!r}"
    else:
        assert type(error) is ContractFailure, f"expected a contract failure, got {error!r}"
    assert not outcome.ok and outcome.value is None and outcome.result == b""
    assert 0 < outcome.gas_used <= sandbox.limits.gas
    # a failed invocation leaves nothing behind
    assert outcome.events == []
    assert state_of(sandbox) == before
