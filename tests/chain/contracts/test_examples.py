"""The example contracts in the Sandbox: the token alone, and the escrow holding token funds."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from chain.contracts import decode_value
from chain.contracts.sandbox import Sandbox
from chain.contracts.vm.execute import Outcome

EXAMPLES = Path(__file__).resolve().parents[3] / "chain" / "contracts" / "examples"
TOKEN = (EXAMPLES / "token.py").read_text()
ESCROW = (EXAMPLES / "escrow.py").read_text()

SUPPLY = 1_000_000
ALICE, BOB, CAROL = "user:alice", "user:bob", "user:carol"
BUYER, SELLER, ARBITER, OUTSIDER = "user:buyer", "user:seller", "user:arbiter", "user:mallory"
ESCROW_ACCOUNT = "contract:escrow"


def ok(outcome: Outcome) -> Any:
    assert outcome.error is None, outcome.error
    return outcome.value


def refused(outcome: Outcome, words: str) -> None:
    assert outcome.error is not None, f"expected a refusal ({words}), got {outcome.value!r}"
    assert outcome.error.code == "contract_failed", outcome.error
    assert words in outcome.error.message, outcome.error.message


def state(sb: Sandbox) -> tuple[dict[Any, bytes], list[Any], dict[Any, bytes]]:
    return dict(sb.storage), list(sb.events), dict(sb.data)


def balances(sb: Sandbox) -> dict[str, int]:
    """Every token balance in storage, read from the raw entries (so no account can hide)."""
    out = {}
    for (contract, key), raw in sb.storage.items():
        if contract == "token" and key.startswith(b"balances\0"):
            out[decode_value(key[len(b"balances\0"):])] = decode_value(raw)
    return out


def balance(sb: Sandbox, account: str) -> int:
    return ok(sb.invoke("token", "balance_of", account))  # type: ignore[no-any-return]


def emitted(outcome: Outcome) -> list[tuple[str, str, dict[str, Any]]]:
    return [(c, e, dict(p)) for c, e, p in outcome.events]


# token


@pytest.fixture
def token() -> Sandbox:
    sb = Sandbox()
    sb.deploy("token", TOKEN)
    ok(sb.invoke("token", "init", "Coin", "CN", SUPPLY, origin=ALICE))
    return sb


def test_token_init_mints_the_supply_to_the_first_caller_once() -> None:
    sb = Sandbox()
    sb.deploy("token", TOKEN)
    refused(sb.invoke("token", "init", "Coin", "CN", 0, origin=ALICE), "supply must be positive")
    out = sb.invoke("token", "init", "Coin", "CN", SUPPLY, origin=ALICE)
    ok(out)
    assert emitted(out) == [("token", "Transfer", {"sender": "", "recipient": ALICE, "amount": SUPPLY})]
    assert balance(sb, ALICE) == SUPPLY
    assert ok(sb.invoke("token", "total_supply")) == SUPPLY
    before = state(sb)
    for who in (ALICE, BOB):
        refused(sb.invoke("token", "init", "Other", "OT", 5, origin=who), "already initialised")
    assert state(sb) == before
    assert balances(sb) == {ALICE: SUPPLY}


def test_token_transfer_moves_funds_and_emits(token: Sandbox) -> None:
    out = token.invoke("token", "transfer", BOB, 250, origin=ALICE)
    assert ok(out) is True
    assert emitted(out) == [("token", "Transfer", {"sender": ALICE, "recipient": BOB, "amount": 250})]
    assert token.events[-1][:2] == ("token", "Transfer")
    assert decode_value(token.events[-1][2]) == {"sender": ALICE, "recipient": BOB, "amount": 250}
    ok(token.invoke("token", "transfer", CAROL, 50, origin=BOB))
    assert balances(token) == {ALICE: SUPPLY - 250, BOB: 200, CAROL: 50}
    assert out.gas_used > 0


def test_token_transfer_to_self_keeps_the_balance(token: Sandbox) -> None:
    ok(token.invoke("token", "transfer", ALICE, 10, origin=ALICE))
    assert balances(token) == {ALICE: SUPPLY}


@pytest.mark.parametrize("amount, words", [(SUPPLY + 1, "balance of 999990 is less than 1000001"),
                                            (0, "amount must be positive"), (-5, "amount must be positive")])
def test_token_refused_transfer_leaves_state_unchanged(token: Sandbox, amount: int, words: str) -> None:
    ok(token.invoke("token", "transfer", BOB, 10, origin=ALICE))
    before = state(token)
    out = token.invoke("token", "transfer", CAROL, amount, origin=ALICE)
    refused(out, words)
    assert out.error is not None and out.error.line is not None
    assert state(token) == before
    refused(token.invoke("token", "transfer", CAROL, 11, origin=BOB), "balance of 10 is less than 11")
    refused(token.invoke("token", "transfer", "", 1, origin=ALICE), "recipient is empty")
    assert state(token) == before


def test_token_rejects_arguments_of_the_wrong_type(token: Sandbox) -> None:
    before = state(token)
    out = token.invoke("token", "transfer", BOB, "10", origin=ALICE)
    assert out.error is not None and out.error.code == "runtime_error"
    assert state(token) == before


def test_token_allowances(token: Sandbox) -> None:
    out = token.invoke("token", "approve", BOB, 300, origin=ALICE)
    ok(out)
    assert emitted(out) == [("token", "Approval", {"owner": ALICE, "spender": BOB, "amount": 300})]
    assert ok(token.invoke("token", "allowance", ALICE, BOB)) == 300
    assert ok(token.invoke("token", "allowance", BOB, ALICE)) == 0

    out = token.invoke("token", "transfer_from", ALICE, CAROL, 120, origin=BOB)
    ok(out)
    assert emitted(out) == [("token", "Transfer", {"sender": ALICE, "recipient": CAROL, "amount": 120})]
    assert ok(token.invoke("token", "allowance", ALICE, BOB)) == 180
    assert balances(token) == {ALICE: SUPPLY - 120, CAROL: 120}

    before = state(token)
    refused(token.invoke("token", "transfer_from", ALICE, BOB, 181, origin=BOB), "allowance of 180 is less than 181")
    refused(token.invoke("token", "transfer_from", ALICE, CAROL, 1, origin=CAROL), "allowance of 0 is less than 1")
    refused(token.invoke("token", "approve", CAROL, -1, origin=ALICE), "must not be negative")
    assert state(token) == before

    # the allowance is spent only if the transfer happens: an owner short of funds rolls it back
    ok(token.invoke("token", "approve", ALICE, 500, origin=CAROL))
    before = state(token)
    refused(token.invoke("token", "transfer_from", CAROL, BOB, 121, origin=ALICE), "balance of 120 is less than 121")
    assert state(token) == before
    assert ok(token.invoke("token", "allowance", CAROL, ALICE)) == 500

    ok(token.invoke("token", "transfer_from", ALICE, BOB, 180, origin=BOB))
    assert ok(token.invoke("token", "allowance", ALICE, BOB)) == 0
    ok(token.invoke("token", "approve", BOB, 0, origin=ALICE))
    assert sum(balances(token).values()) == SUPPLY


def test_token_views_are_views() -> None:
    sb = Sandbox()
    modes = {f["name"]: f["mode"] for f in sb.deploy("token", TOKEN).abi()["functions"]}
    assert modes == {"init": "write", "transfer": "write", "approve": "write", "transfer_from": "write",
                     "balance_of": "view", "allowance": "view", "total_supply": "view"}


# escrow


@pytest.fixture
def market() -> Sandbox:
    """Token and escrow deployed; the buyer holds the supply and gives the others some, so balances are varied."""
    sb = Sandbox()
    sb.deploy("token", TOKEN)
    sb.deploy("escrow", ESCROW)
    ok(sb.invoke("token", "init", "Coin", "CN", SUPPLY, origin=BUYER))
    ok(sb.invoke("token", "transfer", SELLER, 1_000, origin=BUYER))
    ok(sb.invoke("token", "transfer", ARBITER, 10, origin=BUYER))
    return sb


def open_deal(sb: Sandbox, deal_id: str = "d1", amount: int = 5_000, blocks: int = 20, buyer: str = BUYER,
              seller: str = SELLER, arbiter: str = ARBITER) -> Outcome:
    ok(sb.invoke("token", "approve", ESCROW_ACCOUNT, amount, origin=buyer))
    return sb.invoke("escrow", "open_deal", deal_id, seller, arbiter, amount, sb.height + blocks, origin=buyer)


def check_conserved(sb: Sandbox) -> None:
    """No token is created or lost, and the escrow holds exactly the funds of its open deals."""
    held = balances(sb)
    assert sum(held.values()) == SUPPLY
    assert all(v >= 0 for v in held.values())
    assert held.get(ESCROW_ACCOUNT, 0) == ok(sb.invoke("escrow", "held"))


def test_escrow_compiles_with_views_and_a_token_call() -> None:
    abi = Sandbox().deploy("escrow", ESCROW).abi()
    modes = {f["name"]: f["mode"] for f in abi["functions"]}
    assert modes == {"open_deal": "write", "approve_release": "write", "approve_refund": "write", "reclaim": "write",
                     "get_deal": "view", "status": "view", "votes": "view", "deals_of": "view", "held": "view",
                     "stats": "view"}
    assert abi["calls"] == ["token"]
    assert set(abi["events"]) == {"Opened", "Voted", "Released", "Refunded", "Reclaimed"}


def test_opening_a_deal_pulls_the_funds_into_escrow(market: Sandbox) -> None:
    start = balance(market, BUYER)
    out = open_deal(market, amount=5_000)
    ok(out)
    opened_at, deadline = market.height, market.height - 1 + 20
    assert emitted(out) == [
        ("escrow", "Opened", {"deal": "d1", "buyer": BUYER, "seller": SELLER, "arbiter": ARBITER, "amount": 5_000,
                              "deadline": deadline}),
        ("token", "Transfer", {"sender": BUYER, "recipient": ESCROW_ACCOUNT, "amount": 5_000}),
    ]
    assert balance(market, BUYER) == start - 5_000
    assert balance(market, ESCROW_ACCOUNT) == 5_000
    assert ok(market.invoke("token", "allowance", BUYER, ESCROW_ACCOUNT)) == 0
    deal = ok(market.invoke("escrow", "get_deal", "d1"))
    assert deal == {"buyer": BUYER, "seller": SELLER, "arbiter": ARBITER, "amount": 5_000, "deadline": deadline,
                    "state": "open", "opened_at": opened_at, "settled_at": None, "votes": {},
                    "release_votes": 0, "refund_votes": 0, "reclaimable": False}
    assert ok(market.invoke("escrow", "status", "d1")) == "open"
    assert ok(market.invoke("escrow", "stats")) == {"opened": 1, "held": 5_000, "account": ESCROW_ACCOUNT}
    for who, role in ((BUYER, "buyer"), (SELLER, "seller"), (ARBITER, "arbiter")):
        assert ok(market.invoke("escrow", "deals_of", who)) == [{"deal": "d1", "role": role, "state": "open"}]
    assert ok(market.invoke("escrow", "deals_of", OUTSIDER)) == []
    check_conserved(market)


def test_opening_without_an_allowance_leaves_nothing_behind(market: Sandbox) -> None:
    before = state(market)
    out = market.invoke("escrow", "open_deal", "d1", SELLER, ARBITER, 100, market.height + 10, origin=BUYER)
    refused(out, "allowance of 0 is less than 100")
    assert state(market) == before  # the escrow's own writes (deal, index, totals) are rolled back too
    refused(market.invoke("escrow", "status", "d1"), "no deal d1")
    ok(market.invoke("token", "approve", ESCROW_ACCOUNT, 10**9, origin=ARBITER))
    refused(market.invoke("escrow", "open_deal", "d2", SELLER, BUYER, 11, market.height + 10, origin=ARBITER),
            "balance of 10 is less than 11")
    refused(market.invoke("escrow", "status", "d2"), "no deal d2")
    check_conserved(market)


@pytest.mark.parametrize("args, words", [
    (("", SELLER, ARBITER, 10, 50), "a deal id has 1 to 64 characters"),
    (("x" * 65, SELLER, ARBITER, 10, 50), "a deal id has 1 to 64 characters"),
    (("d9", "", ARBITER, 10, 50), "needs a seller and an arbiter"),
    (("d9", BUYER, ARBITER, 10, 50), "three different accounts"),
    (("d9", SELLER, SELLER, 10, 50), "three different accounts"),
    (("d9", SELLER, BUYER, 10, 50), "three different accounts"),
    (("d9", SELLER, ARBITER, 0, 50), "amount must be positive"),
    (("d9", SELLER, ARBITER, 10, 0), "the deadline must be after the current height"),
    (("d1", SELLER, ARBITER, 10, 50), "deal d1 already exists"),
])
def test_opening_refuses_bad_deals(market: Sandbox, args: tuple[Any, ...], words: str) -> None:
    ok(open_deal(market, "d1"))
    ok(market.invoke("token", "approve", ESCROW_ACCOUNT, 10**6, origin=BUYER))
    deal_id, seller, arbiter, amount, deadline = args
    deadline = market.height + deadline if deadline else market.height + 1  # height + 1 is the invoking block
    before = state(market)
    refused(market.invoke("escrow", "open_deal", deal_id, seller, arbiter, amount, deadline, origin=BUYER), words)
    assert state(market) == before


@pytest.mark.parametrize("first, second", [(BUYER, SELLER), (SELLER, ARBITER), (ARBITER, BUYER)])
def test_two_of_three_release_pays_the_seller(market: Sandbox, first: str, second: str) -> None:
    ok(open_deal(market, amount=5_000))
    seller_before = balance(market, SELLER)
    out = market.invoke("escrow", "approve_release", "d1", origin=first)
    assert ok(out) == 1
    assert emitted(out)[0][1] == "Voted" and emitted(out)[0][2]["party"] == first
    assert len(out.events) == 1
    assert ok(market.invoke("escrow", "status", "d1")) == "open"
    assert balance(market, SELLER) == seller_before
    check_conserved(market)

    out = market.invoke("escrow", "approve_release", "d1", origin=second)
    assert ok(out) == 2
    roles = {BUYER: "buyer", SELLER: "seller", ARBITER: "arbiter"}
    assert emitted(out) == [
        ("escrow", "Voted", {"deal": "d1", "party": second, "role": roles[second], "decision": "release", "votes": 2}),
        ("escrow", "Released", {"deal": "d1", "seller": SELLER, "amount": 5_000}),
        ("token", "Transfer", {"sender": ESCROW_ACCOUNT, "recipient": SELLER, "amount": 5_000}),
    ]
    assert balance(market, SELLER) == seller_before + 5_000
    assert balance(market, ESCROW_ACCOUNT) == 0
    deal = ok(market.invoke("escrow", "get_deal", "d1"))
    assert deal["state"] == "released" and deal["release_votes"] == 2 and deal["settled_at"] is not None
    assert ok(market.invoke("escrow", "votes", "d1")) == {first: "release", second: "release"}
    check_conserved(market)

    # settled: no more votes, no reclaim, even after the deadline
    third = ({BUYER, SELLER, ARBITER} - {first, second}).pop()
    before = state(market)
    refused(market.invoke("escrow", "approve_release", "d1", origin=third), "deal d1 is already released")
    refused(market.invoke("escrow", "approve_refund", "d1", origin=third), "already released")
    market.height += 100
    refused(market.invoke("escrow", "reclaim", "d1", origin=BUYER), "already released")
    assert state(market) == before


@pytest.mark.parametrize("first, second", [(BUYER, ARBITER), (SELLER, BUYER), (ARBITER, SELLER)])
def test_two_of_three_refund_repays_the_buyer(market: Sandbox, first: str, second: str) -> None:
    buyer_start = balance(market, BUYER)
    ok(open_deal(market, amount=7_777))
    assert balance(market, BUYER) == buyer_start - 7_777
    assert ok(market.invoke("escrow", "approve_refund", "d1", origin=first)) == 1
    out = market.invoke("escrow", "approve_refund", "d1", origin=second)
    assert ok(out) == 2
    assert [e for _, e, _ in out.events] == ["Voted", "Refunded", "Transfer"]
    assert emitted(out)[1] == ("escrow", "Refunded", {"deal": "d1", "buyer": BUYER, "amount": 7_777})
    assert emitted(out)[2] == ("token", "Transfer", {"sender": ESCROW_ACCOUNT, "recipient": BUYER, "amount": 7_777})
    assert balance(market, BUYER) == buyer_start
    assert ok(market.invoke("escrow", "status", "d1")) == "refunded"
    assert ok(market.invoke("escrow", "get_deal", "d1"))["refund_votes"] == 2
    check_conserved(market)


def test_a_party_approving_twice_counts_once(market: Sandbox) -> None:
    ok(open_deal(market))
    assert ok(market.invoke("escrow", "approve_release", "d1", origin=SELLER)) == 1
    before = state(market)
    for _ in range(3):
        refused(market.invoke("escrow", "approve_release", "d1", origin=SELLER), "already voted to release")
    assert state(market) == before
    deal = ok(market.invoke("escrow", "get_deal", "d1"))
    assert deal["state"] == "open" and deal["release_votes"] == 1
    assert balance(market, ESCROW_ACCOUNT) == 5_000
    assert ok(market.invoke("escrow", "approve_release", "d1", origin=ARBITER)) == 2
    assert ok(market.invoke("escrow", "status", "d1")) == "released"
    check_conserved(market)


def test_split_votes_and_a_changed_vote(market: Sandbox) -> None:
    ok(open_deal(market, amount=900))
    assert ok(market.invoke("escrow", "approve_release", "d1", origin=SELLER)) == 1
    assert ok(market.invoke("escrow", "approve_refund", "d1", origin=BUYER)) == 1
    deal = ok(market.invoke("escrow", "get_deal", "d1"))
    assert (deal["state"], deal["release_votes"], deal["refund_votes"]) == ("open", 1, 1)
    # the buyer changes its mind: its refund vote becomes a release vote, which makes two
    out = market.invoke("escrow", "approve_release", "d1", origin=BUYER)
    assert ok(out) == 2
    assert [e for _, e, _ in out.events] == ["Voted", "Released", "Transfer"]
    assert ok(market.invoke("escrow", "votes", "d1")) == {SELLER: "release", BUYER: "release"}
    check_conserved(market)


def test_outsiders_are_refused(market: Sandbox) -> None:
    ok(open_deal(market))
    ok(market.invoke("escrow", "approve_release", "d1", origin=SELLER))
    before = state(market)
    refused(market.invoke("escrow", "approve_release", "d1", origin=OUTSIDER), f"{OUTSIDER} is not a party to deal d1")
    refused(market.invoke("escrow", "approve_refund", "d1", origin=OUTSIDER), "is not a party")
    refused(market.invoke("escrow", "approve_release", "nope", origin=SELLER), "no deal nope")
    market.height += 1_000
    refused(market.invoke("escrow", "reclaim", "d1", origin=OUTSIDER), "only the buyer may reclaim")
    assert state(market) == before
    # nobody can take the escrow's tokens from the token contract directly
    refused(market.invoke("token", "transfer_from", ESCROW_ACCOUNT, OUTSIDER, 1, origin=OUTSIDER),
            "allowance of 0 is less than 1")
    refused(market.invoke("token", "transfer", OUTSIDER, 1, origin=ESCROW_ACCOUNT + "x"), "balance of 0")
    assert state(market) == before
    check_conserved(market)


PROXY = """
from contract import call


def vote(deal_id: str) -> int:
    return call("escrow", "approve_release", deal_id)
"""


def test_a_party_is_the_caller_not_the_origin(market: Sandbox) -> None:
    """A contract invoked by the seller is not the seller: it cannot vote in the seller's name."""
    market.deploy("proxy", PROXY)
    ok(open_deal(market))
    before = state(market)
    refused(market.invoke("proxy", "vote", "d1", origin=SELLER), "contract:proxy is not a party to deal d1")
    assert state(market) == before
    # ... but a contract can be a party under its own name
    ok(open_deal(market, "d2", arbiter="contract:proxy"))
    assert ok(market.invoke("proxy", "vote", "d2", origin=OUTSIDER)) == 1
    out = market.invoke("escrow", "approve_release", "d2", origin=SELLER)
    assert ok(out) == 2
    assert ok(market.invoke("escrow", "votes", "d2")) == {"contract:proxy": "release", SELLER: "release"}
    check_conserved(market)


def test_the_buyer_alone_reclaims_after_the_deadline(market: Sandbox) -> None:
    buyer_start = balance(market, BUYER)
    ok(open_deal(market, amount=4_000, blocks=10))
    deadline = ok(market.invoke("escrow", "get_deal", "d1"))["deadline"]
    ok(market.invoke("escrow", "approve_refund", "d1", origin=ARBITER))  # one vote is not enough
    before = state(market)
    market.height = deadline - 1  # the next invocation runs at the deadline itself: still too early
    refused(market.invoke("escrow", "reclaim", "d1", origin=BUYER), f"can be reclaimed after height {deadline}")
    assert state(market) == before
    market.height = deadline - 1
    assert ok(market.invoke("escrow", "get_deal", "d1"))["reclaimable"] is False  # at the deadline
    assert ok(market.invoke("escrow", "get_deal", "d1"))["reclaimable"] is True  # one block after it
    for who in (SELLER, ARBITER):
        refused(market.invoke("escrow", "reclaim", "d1", origin=who), "only the buyer may reclaim")
    out = market.invoke("escrow", "reclaim", "d1", origin=BUYER)
    ok(out)
    assert emitted(out) == [
        ("escrow", "Reclaimed", {"deal": "d1", "buyer": BUYER, "amount": 4_000}),
        ("token", "Transfer", {"sender": ESCROW_ACCOUNT, "recipient": BUYER, "amount": 4_000}),
    ]
    assert balance(market, BUYER) == buyer_start
    deal = ok(market.invoke("escrow", "get_deal", "d1"))
    assert deal["state"] == "reclaimed" and deal["reclaimable"] is False
    refused(market.invoke("escrow", "reclaim", "d1", origin=BUYER), "already reclaimed")
    refused(market.invoke("escrow", "approve_refund", "d1", origin=SELLER), "already reclaimed")
    check_conserved(market)


def test_votes_still_settle_an_open_deal_after_the_deadline(market: Sandbox) -> None:
    ok(open_deal(market, amount=300, blocks=2))
    market.height += 50
    ok(market.invoke("escrow", "approve_release", "d1", origin=SELLER))
    assert ok(market.invoke("escrow", "approve_release", "d1", origin=ARBITER)) == 2
    refused(market.invoke("escrow", "reclaim", "d1", origin=BUYER), "already released")
    check_conserved(market)


def test_deals_are_independent(market: Sandbox) -> None:
    ok(open_deal(market, "a", amount=100))
    ok(open_deal(market, "b", amount=200))
    ok(open_deal(market, "c", amount=50, buyer=SELLER, seller=ARBITER, arbiter=BUYER))
    assert ok(market.invoke("escrow", "held")) == 350
    ok(market.invoke("escrow", "approve_release", "b", origin=BUYER))
    ok(market.invoke("escrow", "approve_release", "b", origin=ARBITER))
    assert ok(market.invoke("escrow", "held")) == 150
    assert [ok(market.invoke("escrow", "status", d)) for d in "abc"] == ["open", "released", "open"]
    assert ok(market.invoke("escrow", "deals_of", BUYER)) == [
        {"deal": "a", "role": "buyer", "state": "open"}, {"deal": "b", "role": "buyer", "state": "released"},
        {"deal": "c", "role": "arbiter", "state": "open"}]
    check_conserved(market)


def test_funds_are_conserved_at_every_step(market: Sandbox) -> None:
    """A scripted market day: after every invocation, refused or not, the balances sum to the supply."""
    steps: list[tuple[str, str, tuple[Any, ...], str]] = [
        ("token", "approve", (ESCROW_ACCOUNT, 3_000), BUYER),
        ("escrow", "open_deal", ("x", SELLER, ARBITER, 1_000, 30), BUYER),
        ("escrow", "open_deal", ("y", SELLER, ARBITER, 1_500, 4), BUYER),
        ("escrow", "open_deal", ("z", SELLER, ARBITER, 1_000, 40), BUYER),  # refused: 500 allowance left
        ("token", "approve", (ESCROW_ACCOUNT, 600), SELLER),
        ("escrow", "open_deal", ("z", BUYER, ARBITER, 600, 40), SELLER),
        ("escrow", "approve_release", ("x",), BUYER),
        ("escrow", "approve_release", ("x",), BUYER),  # refused
        ("escrow", "approve_refund", ("x",), OUTSIDER),  # refused
        ("escrow", "reclaim", ("y",), BUYER),  # refused: too early
        ("escrow", "approve_release", ("x",), SELLER),
        ("escrow", "approve_refund", ("z",), BUYER),
        ("token", "transfer", (OUTSIDER, 700), SELLER),
        ("escrow", "reclaim", ("y",), BUYER),
        ("escrow", "approve_refund", ("z",), ARBITER),
        ("token", "transfer", (BUYER, 10**9), OUTSIDER),  # refused
    ]
    check_conserved(market)
    failures = 0
    for contract, function, args, origin in steps:
        if function == "open_deal":
            args = (*args[:4], market.height + args[4])
        out = market.invoke(contract, function, *args, origin=origin)
        failures += out.error is not None
        check_conserved(market)
    assert failures == 5
    assert [ok(market.invoke("escrow", "status", d)) for d in "xyz"] == ["released", "reclaimed", "refunded"]
    assert ok(market.invoke("escrow", "held")) == 0
    assert balance(market, ESCROW_ACCOUNT) == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_market_conserves_funds(seed: int) -> None:
    """Random opens, votes and reclaims by random callers: the invariants hold after each step."""
    rng = random.Random(seed)
    sb = Sandbox()
    sb.deploy("token", TOKEN)
    sb.deploy("escrow", ESCROW)
    people = [f"user:p{i}" for i in range(5)]
    ok(sb.invoke("token", "init", "Coin", "CN", SUPPLY, origin=people[0]))
    for p in people[1:]:
        ok(sb.invoke("token", "transfer", p, 50_000, origin=people[0]))
    ids: list[str] = []
    settled = 0
    for step in range(150):
        who = rng.choice(people)
        roll = rng.random()
        if roll < 0.25 or not ids:
            seller, arbiter = rng.sample([p for p in people if p != who], 2)
            amount = rng.randint(1, 30_000)
            sb.invoke("token", "approve", ESCROW_ACCOUNT, rng.choice([amount, amount - 1, amount * 2]), origin=who)
            deal_id = f"deal{step}"
            out = sb.invoke("escrow", "open_deal", deal_id, seller, arbiter, amount, sb.height + rng.randint(2, 15),
                            origin=who)
            if out.ok:
                ids.append(deal_id)
        elif roll < 0.85:
            fn = rng.choice(["approve_release", "approve_refund"])
            out = sb.invoke("escrow", fn, rng.choice(ids), origin=who)
            settled += out.ok and out.value == 2
        else:
            out = sb.invoke("escrow", "reclaim", rng.choice(ids), origin=who)
            settled += out.ok
        check_conserved(sb)
    states = [ok(sb.invoke("escrow", "status", d)) for d in ids]
    assert len(ids) >= 10 and settled >= 5  # the walk does reach every kind of step
    assert set(states) == {"open", "released", "refunded", "reclaimed"}
    assert settled == sum(s != "open" for s in states)
    open_total = sum(ok(sb.invoke("escrow", "get_deal", d))["amount"] for d, s in zip(ids, states) if s == "open")
    assert open_total == ok(sb.invoke("escrow", "held")) == balance(sb, ESCROW_ACCOUNT)
