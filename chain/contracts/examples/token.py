"""A fungible token: a fixed supply minted to the deployer's first caller, transfers and allowances."""
from contract import Map, caller, emit, event, fail, require

balances = Map("balances", default=0)
allowances = Map("allowances", default=0)
meta = Map("meta")

Transfer = event("sender", "recipient", "amount")
Approval = event("owner", "spender", "amount")


def init(name: str, symbol: str, supply: int) -> None:
    """Mint the whole supply to the caller, once."""
    require("owner" not in meta, "the token is already initialised")
    require(supply > 0, "supply must be positive")
    owner = caller()
    meta["owner"] = owner
    meta["name"] = name
    meta["symbol"] = symbol
    meta["supply"] = supply
    balances[owner] = supply
    emit(Transfer, sender="", recipient=owner, amount=supply)


def transfer(recipient: str, amount: int) -> bool:
    """Move `amount` from the caller to `recipient`."""
    _move(caller(), recipient, amount)
    return True


def approve(spender: str, amount: int) -> None:
    """Let `spender` move up to `amount` of the caller's tokens."""
    require(amount >= 0, "amount must not be negative")
    owner = caller()
    allowances[(owner, spender)] = amount
    emit(Approval, owner=owner, spender=spender, amount=amount)


def transfer_from(owner: str, recipient: str, amount: int) -> None:
    """Spend part of an allowance the owner gave the caller."""
    spender = caller()
    allowed = allowances[(owner, spender)]
    if allowed < amount:
        fail(f"allowance of {allowed} is less than {amount}")
    allowances[(owner, spender)] = allowed - amount
    _move(owner, recipient, amount)


def balance_of(account: str) -> int:
    """The account's balance."""
    return balances[account]


def allowance(owner: str, spender: str) -> int:
    """What `spender` may still move for `owner`."""
    return allowances[(owner, spender)]


def total_supply() -> int:
    """Tokens in existence."""
    return meta["supply"]


def _move(sender: str, recipient: str, amount: int) -> None:
    require(amount > 0, "amount must be positive")
    require(recipient != "", "recipient is empty")
    balance = balances[sender]
    if balance < amount:
        fail(f"balance of {balance} is less than {amount}")
    balances[sender] = balance - amount
    balances[recipient] += amount
    emit(Transfer, sender=sender, recipient=recipient, amount=amount)
