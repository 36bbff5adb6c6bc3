"""`chain contract`: compile, show, approve, deploy, upgrade, freeze, invoke, simulate and trace contracts."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from chain.cli.errors import register_expected
from chain.cli.node import (
    _client,
    committed,
    json_option,
    ledger_option,
    node_option,
    submit_and_wait,
)
from chain.cli.password import get_password, password_file_option
from chain.contracts import (
    ContractError,
    compile_source,
    decode_value,
    encode_args,
    load_program,
)
from chain.contracts.ir import dump, parse
from chain.crypto import get_suite
from chain.crypto.keystore import load_key
from chain.gateway.errors import ApiError
from chain.gateway.jsonio import value_from_json, value_to_json

register_expected(ContractError)

key_file_option = click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), required=True,
                               help="Encrypted key of the signing user.")
args_option = click.option("--args", "args_json", default="[]", show_default=True,
                           help='Arguments as a JSON array; bytes as {"hex": "00ff"}. Example: --args \'["bob", 10]\'')


@click.group()
def contract() -> None:
    """Contracts: compile source to IR, review it, approve, deploy, invoke, simulate and trace."""


def _read_ir(path: Path) -> bytes:
    """IR bytes from an .ir file, or compiled from a .py source."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        return compile_source(text, path.name).encode("utf-8")
    load_program(text.encode("utf-8"))
    return text.encode("utf-8")


def _args(args_json: str) -> bytes:
    try:
        values = json.loads(args_json)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc.msg}", param_hint="--args") from None
    if not isinstance(values, list):
        raise click.BadParameter("must be a JSON array", param_hint="--args")
    try:
        return encode_args([value_from_json(v, f"args[{i}]") for i, v in enumerate(values)])
    except ApiError as exc:
        raise click.BadParameter(f"{exc.field}: {exc.message}", param_hint="--args") from None


def _echo(data: Any) -> None:
    click.echo(json.dumps(value_to_json(data), indent=2, ensure_ascii=False))


@contract.command("compile")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="IR file (default: SOURCE with .ir).")
@click.option("--suite", type=click.Choice(["classic", "sm"]), default="classic", show_default=True,
              help="Ledger suite whose hash of the IR to print (what approvals sign).")
def compile_cmd(source: Path, output: Path | None, suite: str) -> None:
    """Compile dialect source to IR.  Example: chain contract compile token.py"""
    ir = compile_source(source.read_text(encoding="utf-8"), source.name).encode("utf-8")
    target = output or source.with_suffix(".ir")
    target.write_bytes(ir)
    program = load_program(ir)
    click.echo(f"wrote {target} ({len(ir)} bytes, {len(program.functions)} functions)")
    click.echo(f"{suite} hash: {get_suite(suite).digest(ir).hex()}")


@contract.command("show")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="Show a deployed contract instead of a file.")
@click.option("--version", type=int, default=None, help="Version of the deployed contract (default: current).")
@click.option("--abi", "abi_only", is_flag=True, help="Print only the ABI (functions, events, permissions).")
@node_option
@ledger_option
def show(path: Path | None, name: str | None, version: int | None, abi_only: bool, node: str, ledger: str) -> None:
    """Pretty-print IR (from a .py, an .ir file or a deployed contract) and its ABI.  Example: chain contract show token.ir"""
    if (path is None) == (name is None):
        raise click.UsageError("give a file or --name, not both")
    if path is not None:
        ir = _read_ir(path).decode("utf-8")
        program = load_program(ir.encode("utf-8"))
        header: dict[str, Any] = {}
    else:
        with _client(node) as client:
            info = client.contract(ledger, name or "", version)
        ir, program = info["code"], load_program(info["code"].encode("utf-8"))
        header = {k: info[k] for k in ("name", "version", "shown_version", "state", "policy", "code_hash")}
    if header:
        _echo(header)
    _echo(program.abi())
    if not abi_only:
        click.echo(dump(parse(ir)))


@contract.command("approve")
@click.argument("name")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--version", "version", type=int, default=None, help="Version approved (default: the next one).")
@node_option
@ledger_option
@key_file_option
@password_file_option
@json_option
def approve(name: str, path: Path, version: int | None, node: str, ledger: str, key_file: Path, password_file: Path | None,
            as_json: bool) -> None:
    """Approve a contract version's IR for your organisation.  Example: chain contract approve token token.ir --key-file org2.key"""
    from chain.ledger.operations import ApproveContract

    ir = _read_ir(path)
    with _client(node) as client:
        suite = get_suite(client.status(ledger)["suite"])
        if version is None:
            try:
                version = client.contract(ledger, name)["version"] + 1
            except Exception:  # noqa: BLE001 - a missing contract means version 0
                version = 0
    _finish(submit_and_wait(node, ledger, key_file, password_file, [ApproveContract(name, version, suite.digest(ir))], as_json),
            as_json)


def _policy(text: str | None) -> Any:
    from chain.ledger.model import ContractPolicy

    if text is None:
        return None
    threshold, _, names = text.partition(":")
    if not threshold.isdigit() or not names:
        raise click.BadParameter("expected N:org1,org2,...", param_hint="--policy")
    return ContractPolicy(int(threshold), tuple(sorted(set(names.split(",")))))


@contract.command("deploy")
@click.argument("name")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--policy", help="Endorsement policy N:org1,org2,... (default: a majority of the active participants).")
@node_option
@ledger_option
@key_file_option
@password_file_option
@json_option
def deploy(name: str, path: Path, policy: str | None, node: str, ledger: str, key_file: Path, password_file: Path | None,
           as_json: bool) -> None:
    """Deploy IR (or source, compiled first) as version 0.  Example: chain contract deploy token token.ir --policy 2:org1,org2,org3"""
    from chain.ledger.operations import DeployContract

    _finish(submit_and_wait(node, ledger, key_file, password_file, [DeployContract(name, _read_ir(path), _policy(policy))],
                            as_json), as_json)


@contract.command("upgrade")
@click.argument("name")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@node_option
@ledger_option
@key_file_option
@password_file_option
@json_option
def upgrade(name: str, path: Path, node: str, ledger: str, key_file: Path, password_file: Path | None, as_json: bool) -> None:
    """Deploy the next version (its policy's approvals needed).  Example: chain contract upgrade token token-v2.ir"""
    from chain.ledger.operations import UpgradeContract

    _finish(submit_and_wait(node, ledger, key_file, password_file, [UpgradeContract(name, _read_ir(path))], as_json), as_json)


@contract.command("freeze")
@click.argument("name")
@click.option("--unfreeze", is_flag=True, help="Make the contract invocable again.")
@node_option
@ledger_option
@key_file_option
@password_file_option
@json_option
def freeze(name: str, unfreeze: bool, node: str, ledger: str, key_file: Path, password_file: Path | None, as_json: bool) -> None:
    """Freeze (or --unfreeze) a contract.  Example: chain contract freeze token --key-file admin.key"""
    from chain.ledger.model import EntityState
    from chain.ledger.operations import SetContractState

    state = EntityState.NORMAL if unfreeze else EntityState.FROZEN
    _finish(submit_and_wait(node, ledger, key_file, password_file, [SetContractState(name, state)], as_json), as_json)


@contract.command("invoke")
@click.argument("name")
@click.argument("function")
@args_option
@node_option
@ledger_option
@key_file_option
@password_file_option
@json_option
def invoke(name: str, function: str, args_json: str, node: str, ledger: str, key_file: Path, password_file: Path | None,
           as_json: bool) -> None:
    """Invoke a function in a transaction.  Example: chain contract invoke token transfer --args '["bob", 10]'"""
    from chain.ledger.operations import InvokeContract

    _finish(submit_and_wait(node, ledger, key_file, password_file, [InvokeContract(name, function, _args(args_json))], as_json),
            as_json)


def _finish(sent: tuple[Any, dict[str, Any]], as_json: bool) -> None:
    transaction, outcome = sent
    receipt = outcome.get("receipt") or {}
    result = receipt.get("result") or b""
    report = {"tx_hash": transaction.hash.hex(), "status": outcome.get("status"), "height": receipt.get("height"),
              "code": receipt.get("code_name"), "message": receipt.get("message") or None}
    if result:
        report["results"] = [{"value": value, "gas_used": gas} for value, gas in decode_value(result)]
    if as_json:
        _echo(report)
    else:
        for key, value in report.items():
            if value is not None:
                click.echo(f"{key}: {json.dumps(value_to_json(value), ensure_ascii=False)}")
    if not committed(outcome):
        sys.exit(1)


def _dry_run(name: str, function: str, args_json: str, node: str, ledger: str, key_file: Path, password_file: Path | None,
             trace: bool, gas_limit: int | None, version: int | None) -> dict[str, Any]:
    from chain.ledger.operations import InvokeContract

    key = load_key(key_file, get_password(password_file))
    with _client(node) as client:
        tx = client.build(ledger, [InvokeContract(name, function, _args(args_json))], [key])
        return client.simulate(ledger, tx, trace=trace, gas_limit=gas_limit, version=version)[0]


dry_run_options = [
    click.option("--gas-limit", type=click.IntRange(min=1), default=None, help="Stop after this much gas."),
    click.option("--version", type=click.IntRange(min=0), default=None, help="Run an older version of the contract."),
]


def _with(options: list[Any]) -> Any:
    def apply(fn: Any) -> Any:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


@contract.command("simulate")
@click.argument("name")
@click.argument("function")
@args_option
@_with(dry_run_options)
@node_option
@ledger_option
@key_file_option
@password_file_option
def simulate(name: str, function: str, args_json: str, gas_limit: int | None, version: int | None, node: str, ledger: str,
             key_file: Path, password_file: Path | None) -> None:
    """Dry-run against the latest state: result, events, read/write set, gas; nothing is committed."""
    report = _dry_run(name, function, args_json, node, ledger, key_file, password_file, False, gas_limit, version)
    report.pop("steps", None)
    report.pop("truncated", None)
    _echo(report)
    if not report["ok"]:
        sys.exit(1)


@contract.command("trace")
@click.argument("name")
@click.argument("function")
@args_option
@_with(dry_run_options)
@click.option("--source", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The contract's source, to print each step's line.")
@node_option
@ledger_option
@key_file_option
@password_file_option
def trace(name: str, function: str, args_json: str, gas_limit: int | None, version: int | None, source: Path | None, node: str,
          ledger: str, key_file: Path, password_file: Path | None) -> None:
    """Step trace of a dry run: each statement's source line, gas so far and locals."""
    report = _dry_run(name, function, args_json, node, ledger, key_file, password_file, True, gas_limit, version)
    lines = source.read_text(encoding="utf-8").splitlines() if source else []
    for contract_name, fn, line, gas, local_values in report["steps"]:
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        shown = ", ".join(f"{k}={json.dumps(value_to_json(v), ensure_ascii=False)}" for k, v in local_values.items())
        click.echo(f"{contract_name}.{fn}:{line:<4} gas={gas:<6} {text:<50} | {shown}")
    if report["truncated"]:
        click.echo("(trace truncated)")
    for kind, where, key, value in report["writes"]:
        click.echo(f"{kind} {where} {json.dumps(value_to_json(key), ensure_ascii=False)} = {json.dumps(value_to_json(value), ensure_ascii=False)}")
    status = "ok" if report["ok"] else f"error: {report['error']}"
    click.echo(f"{status}; value={json.dumps(value_to_json(report['value']), ensure_ascii=False)}; gas used {report['gas_used']}")
    if not report["ok"]:
        sys.exit(1)
