"""A multi-party escrow holding funds of the "token" contract (examples/token.py) until two of three parties agree.

A buyer opens a deal naming a seller, an arbiter, an amount and a deadline (a
block height). Opening pulls the amount from the buyer into the escrow's own
token account, so the buyer first lets the escrow spend it:
    token.approve("contract:escrow", amount)    then    escrow.open_deal(...)
(inside the token, the escrow's calls come from caller() "contract:escrow").

Each party (buyer, seller, arbiter) has one vote per deal, "release" or
"refund", and may change it while the deal is open; voting the same way again
is refused, so a vote counts once. The second vote for the same decision
settles the deal: release pays the seller, refund repays the buyer. A deal
nobody settles stays open after its deadline (late votes still count), but
from then on the buyer alone may also reclaim the funds.

Invariant: the escrow's token balance equals held(), the sum of open deals.
"""
from contract import Map, call, caller, contract_name, emit, event, height, require

OPEN = "open"
RELEASED = "released"
REFUNDED = "refunded"
RECLAIMED = "reclaimed"
RELEASE = "release"
REFUND = "refund"
ROLES = ("buyer", "seller", "arbiter")
QUORUM = 2
MAX_ID_LENGTH = 64

deals = Map("deals")
deals_by_party = Map("by_party", default=())  # party -> its deal ids; one list, rewritten on each new deal
totals = Map("totals", default=0)

Opened = event("deal", "buyer", "seller", "arbiter", "amount", "deadline")
Voted = event("deal", "party", "role", "decision", "votes")
Released = event("deal", "seller", "amount")
Refunded = event("deal", "buyer", "amount")
Reclaimed = event("deal", "buyer", "amount")


def open_deal(deal_id: str, seller: str, arbiter: str, amount: int, deadline: int) -> None:
    """Open a deal as its buyer and move `amount` tokens from the buyer into escrow (needs a token allowance)."""
    buyer = caller()
    length = len(deal_id)
    require(0 < length <= MAX_ID_LENGTH, f"a deal id has 1 to {MAX_ID_LENGTH} characters")
    require(deal_id not in deals, f"deal {deal_id} already exists")
    require(seller != "" and arbiter != "", "a deal needs a seller and an arbiter")
    require(buyer != seller and buyer != arbiter and seller != arbiter,
            "buyer, seller and arbiter must be three different accounts")
    require(amount > 0, "amount must be positive")
    now = height()
    require(deadline > now, f"the deadline must be after the current height {now}")
    deals[deal_id] = {
        "buyer": buyer, "seller": seller, "arbiter": arbiter, "amount": amount, "deadline": deadline,
        "state": OPEN, "opened_at": now, "settled_at": None, "votes": {},
    }
    for party in (buyer, seller, arbiter):
        ids = list(deals_by_party[party])
        ids.append(deal_id)
        deals_by_party[party] = ids
    totals["held"] += amount
    totals["opened"] += 1
    emit(Opened, deal=deal_id, buyer=buyer, seller=seller, arbiter=arbiter, amount=amount, deadline=deadline)
    call("token", "transfer_from", buyer, _escrow_account(), amount)


def approve_release(deal_id: str) -> int:
    """Vote to pay the seller; returns the votes for release (the second one settles the deal)."""
    return _vote(deal_id, RELEASE)


def approve_refund(deal_id: str) -> int:
    """Vote to repay the buyer; returns the votes for a refund (the second one settles the deal)."""
    return _vote(deal_id, REFUND)


def reclaim(deal_id: str) -> None:
    """After the deadline, the buyer alone takes back the funds of a deal still open."""
    deal = _open(deal_id)
    require(caller() == deal["buyer"], "only the buyer may reclaim a deal")
    require(height() > deal["deadline"], f"deal {deal_id} can be reclaimed after height {deal['deadline']}")
    amount = deal["amount"]
    _close(deal_id, deal, RECLAIMED)
    emit(Reclaimed, deal=deal_id, buyer=deal["buyer"], amount=amount)
    call("token", "transfer", deal["buyer"], amount)


# views


def get_deal(deal_id: str) -> dict:
    """A deal's record with its vote counts and whether the buyer may reclaim it now."""
    record = _get(deal_id)
    record["release_votes"] = _count(record["votes"], RELEASE)
    record["refund_votes"] = _count(record["votes"], REFUND)
    record["reclaimable"] = record["state"] == OPEN and height() > record["deadline"]
    return record


def status(deal_id: str) -> str:
    """open, released, refunded or reclaimed."""
    return _get(deal_id)["state"]


def votes(deal_id: str) -> dict:
    """Each voting party's current decision."""
    return _get(deal_id)["votes"]


def deals_of(account: str) -> list:
    """Ids of the deals an account is a party to, oldest first, with its role and the deal's state."""
    out = []
    for deal_id in deals_by_party[account]:
        record = deals[deal_id]
        out.append({"deal": deal_id, "role": _role(record, account), "state": record["state"]})
    return out


def held() -> int:
    """Tokens the escrow holds for open deals (its token balance)."""
    return totals["held"]


def stats() -> dict:
    """Deals opened and held funds."""
    return {"opened": totals["opened"], "held": totals["held"], "account": _escrow_account()}


# internals


def _vote(deal_id: str, decision: str) -> int:
    deal = _open(deal_id)
    party = caller()
    role = _role(deal, party)
    require(role != "", f"{party} is not a party to deal {deal_id}")
    ballot = deal["votes"]
    require(ballot.get(party) != decision, f"{party} has already voted to {decision} deal {deal_id}")
    ballot[party] = decision
    count = _count(ballot, decision)
    emit(Voted, deal=deal_id, party=party, role=role, decision=decision, votes=count)
    if count < QUORUM:
        deals[deal_id] = deal
        return count
    amount = deal["amount"]
    if decision == RELEASE:
        _close(deal_id, deal, RELEASED)
        emit(Released, deal=deal_id, seller=deal["seller"], amount=amount)
        call("token", "transfer", deal["seller"], amount)
    else:
        _close(deal_id, deal, REFUNDED)
        emit(Refunded, deal=deal_id, buyer=deal["buyer"], amount=amount)
        call("token", "transfer", deal["buyer"], amount)
    return count


def _close(deal_id: str, deal: dict, state: str) -> None:
    deal["state"] = state
    deal["settled_at"] = height()
    deals[deal_id] = deal
    totals["held"] -= deal["amount"]


def _get(deal_id: str) -> dict:
    require(deal_id in deals, f"no deal {deal_id}")
    return deals[deal_id]


def _open(deal_id: str) -> dict:
    deal = _get(deal_id)
    require(deal["state"] == OPEN, f"deal {deal_id} is already {deal['state']}")
    return deal


def _role(deal: dict, party: str) -> str:
    for role in ROLES:
        if deal[role] == party:
            return role
    return ""


def _count(ballot: dict, decision: str) -> int:
    return len([party for party, choice in ballot.items() if choice == decision])


def _escrow_account() -> str:
    return f"contract:{contract_name()}"
