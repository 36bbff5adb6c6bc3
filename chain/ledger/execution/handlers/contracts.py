"""Contract accounts: deploy and upgrade store the IR; invocation awaits the contract engine."""
from __future__ import annotations

from chain.ledger import namespaces as ns
from chain.ledger.errors import ExecutionFailure, Rejection, ResultCode
from chain.ledger.execution.context import TxContext
from chain.ledger.execution.overlay import Overlay
from chain.ledger.execution.records import check_name, demand, is_owner, load, require, store
from chain.ledger.model import ContractAccount, EntityState
from chain.ledger.operations import DeployContract, InvokeContract, UpgradeContract
from chain.ledger.permissions import LedgerPermission


def deploy_contract(state: Overlay, ctx: TxContext, op: DeployContract) -> None:
    """Store version 0 of a contract's code, owned by the endorsers."""
    demand(state, ctx, LedgerPermission.DEPLOY_CONTRACT, "deploying a contract")
    check_name(op.name, "contract name")
    if load(state, ns.contract_key(op.name), ContractAccount) is not None:
        raise ExecutionFailure(f"contract {op.name!r} already exists", ResultCode.ALREADY_EXISTS)
    if not op.code:
        raise ExecutionFailure("contract code is empty", ResultCode.INVALID_ARGUMENT)
    state.put(ns.contract_code_key(op.name, 0), op.code)
    store(state, ns.contract_key(op.name), ContractAccount(op.name, 0, ctx.block.suite.digest(op.code), ctx.signer_addresses))


def upgrade_contract(state: Overlay, ctx: TxContext, op: UpgradeContract) -> None:
    """Store the next version; older versions stay queryable."""
    demand(state, ctx, LedgerPermission.UPGRADE_CONTRACT, "upgrading a contract")
    record = require(state, ns.contract_key(op.name), ContractAccount, f"contract {op.name!r}")
    if not is_owner(record.owners, ctx):
        raise Rejection(f"only an owner of contract {op.name!r} may upgrade it", ResultCode.PERMISSION_DENIED)
    if not op.code:
        raise ExecutionFailure("contract code is empty", ResultCode.INVALID_ARGUMENT)
    version = record.version + 1
    state.put(ns.contract_code_key(op.name, version), op.code)
    store(state, ns.contract_key(op.name), ContractAccount(op.name, version, ctx.block.suite.digest(op.code), record.owners, record.state))


def invoke_contract(state: Overlay, ctx: TxContext, op: InvokeContract) -> None:
    """Fail clearly: the contract VM is not part of this build yet."""
    record = require(state, ns.contract_key(op.name), ContractAccount, f"contract {op.name!r}")
    if record.state is not EntityState.NORMAL:
        raise ExecutionFailure(f"contract {op.name!r} is {record.state.name}", ResultCode.INVALID_STATE)
    raise ExecutionFailure("this node has no contract engine yet; the invocation was not executed", ResultCode.CONTRACT_ENGINE_UNAVAILABLE)
