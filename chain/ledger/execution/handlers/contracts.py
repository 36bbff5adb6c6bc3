"""Contract lifecycle and invocation: approve, deploy, upgrade, freeze, invoke in the metered VM.

A version of a contract is identified by (name, version, hash of its IR).
Participants approve it with ApproveContract; deploy and upgrade count those
approvals plus the endorsing transaction's own participants against the
contract's endorsement policy (threshold of named participants), as Fabric's
approve/commit does. The IR is loaded (parsed and checked) before it is stored.
"""
from __future__ import annotations

from chain.contracts import ContractError, IRError, LimitExceeded, execute, load_program
from chain.contracts.host import Environment
from chain.ledger import namespaces as ns
from chain.ledger.errors import ExecutionFailure, Rejection, ResultCode
from chain.ledger.execution.context import BLOCK_GAS, TxContext
from chain.ledger.execution.contract_host import LedgerHost, origin_of, program_of
from chain.ledger.execution.handlers.membership import active_participants
from chain.ledger.execution.overlay import Overlay
from chain.ledger.execution.records import (
    check_name,
    demand,
    endorsing_participants,
    is_owner,
    load,
    require,
    store,
)
from chain.ledger.model import (
    ContractAccount,
    ContractApprovals,
    ContractPolicy,
    EntityState,
    Participant,
)
from chain.ledger.operations import (
    ApproveContract,
    DeployContract,
    InvokeContract,
    SetContractState,
    UpgradeContract,
)
from chain.ledger.permissions import LedgerPermission

_APPROVING = (LedgerPermission.DEPLOY_CONTRACT, LedgerPermission.UPGRADE_CONTRACT)


def _check_code(code: bytes) -> None:
    if not code:
        raise ExecutionFailure("contract code is empty", ResultCode.INVALID_ARGUMENT)
    try:
        load_program(code)
    except IRError as exc:
        raise ExecutionFailure(f"the contract IR is invalid: {exc}", ResultCode.CONTRACT_ERROR) from None


def _policy(state: Overlay, given: ContractPolicy | None) -> ContractPolicy:
    """The given policy, checked, or a majority of the active participants."""
    if given is None:
        active = active_participants(state)
        return ContractPolicy(len(active) // 2 + 1, active)
    names = given.participants
    if not names or list(names) != sorted(set(names)):
        raise ExecutionFailure("policy participants must be a non-empty, sorted list without repeats", ResultCode.INVALID_ARGUMENT)
    if not 1 <= given.threshold <= len(names):
        raise ExecutionFailure(f"policy threshold must be 1..{len(names)}", ResultCode.INVALID_ARGUMENT)
    for name in names:
        if load(state, ns.participant_key(name), Participant) is None:
            raise ExecutionFailure(f"policy participant {name!r} does not exist", ResultCode.NOT_FOUND)
    return given


def _endorsers(state: Overlay, ctx: TxContext) -> set[str]:
    found: set[str] = set()
    for permission in _APPROVING:
        found.update(endorsing_participants(state, ctx, permission))
    return found


def _demand_policy(state: Overlay, ctx: TxContext, name: str, version: int, code_hash: bytes, policy: ContractPolicy) -> None:
    """Fail unless approvals (stored plus this transaction's) meet the policy; then clear the stored ones."""
    key = ns.contract_approval_key(name, version, code_hash)
    stored = load(state, key, ContractApprovals)
    approvals = set(stored.participants if stored else ()) | _endorsers(state, ctx)
    if ctx.privileged:
        approvals |= set(policy.participants)
    counted = sorted(approvals & set(policy.participants))
    if len(counted) < policy.threshold:
        raise ExecutionFailure(
            f"{name!r} version {version} needs approvals from {policy.threshold} of {', '.join(policy.participants)}; "
            f"it has {len(counted)} ({', '.join(counted) or 'none'})",
            ResultCode.POLICY_NOT_MET,
        )
    if stored is not None:
        state.delete(key)


def approve_contract(state: Overlay, ctx: TxContext, op: ApproveContract) -> None:
    """Record the endorsers' participants as approving one version of a contract."""
    if not ctx.privileged and not _endorsers(state, ctx):
        raise Rejection("approving a contract needs DEPLOY_CONTRACT or UPGRADE_CONTRACT, which no endorser holds",
                        ResultCode.PERMISSION_DENIED)
    check_name(op.name, "contract name")
    record = load(state, ns.contract_key(op.name), ContractAccount)
    expected = 0 if record is None else record.version + 1
    if op.version != expected:
        raise ExecutionFailure(f"the next version of {op.name!r} is {expected}, not {op.version}", ResultCode.INVALID_ARGUMENT)
    if len(op.code_hash) != len(ctx.block.suite.digest(b"")):
        raise ExecutionFailure("code_hash has the wrong length for this ledger's hash", ResultCode.INVALID_ARGUMENT)
    key = ns.contract_approval_key(op.name, op.version, op.code_hash)
    stored = load(state, key, ContractApprovals)
    merged = set(stored.participants if stored else ()) | _endorsers(state, ctx)
    store(state, key, ContractApprovals(tuple(sorted(merged))))


def deploy_contract(state: Overlay, ctx: TxContext, op: DeployContract) -> None:
    """Store version 0 of a contract once its policy's approvals are met."""
    demand(state, ctx, LedgerPermission.DEPLOY_CONTRACT, "deploying a contract")
    check_name(op.name, "contract name")
    if load(state, ns.contract_key(op.name), ContractAccount) is not None:
        raise ExecutionFailure(f"contract {op.name!r} already exists", ResultCode.ALREADY_EXISTS)
    _check_code(op.code)
    policy = _policy(state, op.policy)
    code_hash = ctx.block.suite.digest(op.code)
    _demand_policy(state, ctx, op.name, 0, code_hash, policy)
    state.put(ns.contract_code_key(op.name, 0), op.code)
    store(state, ns.contract_key(op.name), ContractAccount(op.name, 0, code_hash, ctx.signer_addresses, EntityState.NORMAL, policy))


def upgrade_contract(state: Overlay, ctx: TxContext, op: UpgradeContract) -> None:
    """Store the next version under the contract's policy; older versions stay queryable."""
    demand(state, ctx, LedgerPermission.UPGRADE_CONTRACT, "upgrading a contract")
    record = require(state, ns.contract_key(op.name), ContractAccount, f"contract {op.name!r}")
    if not is_owner(record.owners, ctx):
        raise Rejection(f"only an owner of contract {op.name!r} may upgrade it", ResultCode.PERMISSION_DENIED)
    _check_code(op.code)
    version = record.version + 1
    code_hash = ctx.block.suite.digest(op.code)
    _demand_policy(state, ctx, op.name, version, code_hash, record.policy)
    state.put(ns.contract_code_key(op.name, version), op.code)
    store(state, ns.contract_key(op.name),
          ContractAccount(op.name, version, code_hash, record.owners, record.state, record.policy))


def set_contract_state(state: Overlay, ctx: TxContext, op: SetContractState) -> None:
    """Freeze or unfreeze a contract (an owner holding UPGRADE_CONTRACT)."""
    demand(state, ctx, LedgerPermission.UPGRADE_CONTRACT, "freezing or unfreezing a contract")
    record = require(state, ns.contract_key(op.name), ContractAccount, f"contract {op.name!r}")
    if not is_owner(record.owners, ctx):
        raise Rejection(f"only an owner of contract {op.name!r} may freeze or unfreeze it", ResultCode.PERMISSION_DENIED)
    if op.state not in (EntityState.NORMAL, EntityState.FROZEN):
        raise ExecutionFailure("a contract is NORMAL or FROZEN", ResultCode.INVALID_ARGUMENT)
    store(state, ns.contract_key(op.name),
          ContractAccount(record.name, record.version, record.code_hash, record.owners, op.state, record.policy))


def environment(ctx: TxContext) -> Environment:
    """What a contract learns about its invoker and block."""
    signer = ctx.signers[0] if ctx.signers else None
    return Environment(
        origin_of(ctx), signer.participant if signer else "", tuple(signer.roles) if signer else (),
        ctx.block.height, ctx.block.timestamp_ms, ctx.tx_hash,
    )


def invoke_contract(state: Overlay, ctx: TxContext, op: InvokeContract) -> list[object]:
    """Run a public function; any contract error fails the operation (the transaction's writes roll back)."""
    record = require(state, ns.contract_key(op.name), ContractAccount, f"contract {op.name!r}")
    if record.state is not EntityState.NORMAL:
        raise ExecutionFailure(f"contract {op.name!r} is {record.state.name}", ResultCode.INVALID_STATE)
    try:
        _, program = program_of(state, op.name)
    except ContractError as exc:
        raise ExecutionFailure(str(exc), ResultCode.CONTRACT_ERROR) from None
    budget = ctx.block.gas
    if budget.remaining <= 0:
        raise ExecutionFailure(f"this block's contract gas ({BLOCK_GAS}) is spent; submit again for a later block",
                               ResultCode.LIMIT_EXCEEDED)
    outcome = execute(program, LedgerHost(state, ctx), environment(ctx), op.name, op.function, op.args,
                      gas_limit=budget.remaining)
    budget.remaining -= outcome.gas_used
    if outcome.error is not None:
        code = ResultCode.LIMIT_EXCEEDED if isinstance(outcome.error, LimitExceeded) else ResultCode.CONTRACT_ERROR
        raise ExecutionFailure(f"{op.name}.{op.function}: {outcome.error}", code)
    return [outcome.value, outcome.gas_used]
