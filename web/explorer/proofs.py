"""The proof page: the SDK's light client checks a transaction or an `account/key` value and the page shows each step.

The light client trusts one thing, the ledger id (the genesis header's hash).
It checks the genesis header against it, then every header's commit
certificate up to the block in question against the validators of its
height, and finally the Merkle proof against that block's root.  The
explorer's server only relays: the verdict comes from the checks, not from
the gateway's say-so.  A claimed value (optional) is checked instead of the
value the gateway sent, which shows a wrong value failing.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request

from chain.sdk.client import ProofReport
from web.explorer.blueprint import blueprint
from web.explorer.formatting import bytes_view
from web.explorer.views import TX_HASH, found_or_404

STEPS = {
    "transaction": ("body", "headers", "certificate", "proof"),
    "entry": ("key", "headers", "certificate", "proof"),
}


def steps(report: ProofReport) -> list[dict[str, str]]:
    """Each check with its outcome: passed, failed (with the reason) or not reached."""
    failed_at = STEPS[report.kind].index(report.step) if not report.verified and report.step in STEPS[report.kind] else None
    out = [{"name": "Trust", "state": "trusted",
            "text": f"Ledger id {report.ledger_id.hex()}: the hash of the genesis header. Nothing else is trusted, "
                    "not the gateway and not this server."}]
    for index, step in enumerate(STEPS[report.kind]):
        state = "passed" if failed_at is None or index < failed_at else ("failed" if index == failed_at else "skipped")
        out.append({"name": _TITLES[step], "state": state, "text": _describe(step, report, state == "failed"),
                    "reason": report.reason if state == "failed" else ""})
    return out


_TITLES = {"body": "Transaction body", "key": "State key", "headers": "Headers", "certificate": "Certificate",
           "proof": "Merkle proof"}


def _describe(step: str, report: ProofReport, failed: bool) -> str:
    top = report.height
    if step == "body":
        return f"The transaction the gateway sent hashes to {report.subject}."
    if step == "key":
        return f"The gateway's proof is for the state key of {report.subject}."
    if step == "headers":
        genesis = "the genesis header included, " if report.genesis_checked_now else ""
        earlier = report.headers_trusted - report.headers_checked_now
        return (f"Headers 0–{top}: the genesis header hashes to the ledger id and each header carries a commit "
                f"certificate signed by a quorum of the validators of its height. {report.headers_trusted} headers "
                f"trusted; {report.headers_checked_now} certificates checked for this proof ({genesis}"
                f"{earlier} earlier by this explorer's light client, which also started from genesis).")
    if step == "certificate":
        return (f"Block {top} is certified by {len(report.validators)} of {report.validator_count} validators "
                f"(quorum {report.quorum}).")
    leads = "does not lead" if failed else "leads"
    if report.kind == "transaction":
        return (f"An audit path of {report.siblings} sibling hashes {leads} from the transaction hash to the block's "
                f"{report.root_name} {report.root.hex()}.")
    value = "the absence of the key" if report.value is None else f"the value {bytes_view(report.value)!r}"
    whose = "claimed" if report.claimed else "sent by the gateway"
    return (f"A sparse Merkle proof of depth {report.siblings} ({report.nonempty_siblings} non-empty siblings) for "
            f"{value} ({whose}) {leads} to the block's {report.root_name} {report.root.hex()}.")


@blueprint.get("/proof")
def proof() -> tuple[str, int]:
    query = request.args.get("q", "").strip()
    claim = request.args.get("claim", "")
    fresh = request.args.get("fresh") == "1"
    if not query:
        return render_template("explorer/proof.html", query="", claim="", fresh=fresh, report=None), 200
    pool: Any = current_app.extensions["chain_clients"]
    with pool.prover(fresh) as prover:
        if TX_HASH.match(query):
            report = found_or_404(lambda: prover.prove_transaction(bytes.fromhex(query)),
                                  f"There is no committed transaction {query.lower()} to prove.")
        elif "/" in query and all(query.split("/", 1)):
            account, key = query.split("/", 1)
            kwargs: dict[str, Any] = {"claimed_value": claim.encode("utf-8")} if claim else {}
            report = found_or_404(lambda: prover.prove_entry(account, key, **kwargs),
                                  f"There is no data account {account!r} to prove a value of.")
        else:
            return render_template("explorer/proof.html", query=query, claim=claim, fresh=fresh, report=None,
                                   message="Give a transaction hash (64 hex digits) or account/key."), 400
    return render_template("explorer/proof.html", query=query, claim=claim, fresh=fresh, report=report,
                           steps=steps(report)), 200
