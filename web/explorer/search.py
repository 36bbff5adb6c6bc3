"""The search box: a block height, a transaction hash, an address, `account/key`, or a data account or contract name.

The query's shape decides what is looked up (64 hex digits: a transaction;
other digits: a block; a slash: a data account key, split at the first slash;
otherwise an address, then a data account, then a contract); a hit redirects
to its page, a miss is a 404 page that says what was looked for.
"""
from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response

from chain.sdk import ApiError, Client
from web.explorer.blueprint import blueprint, client
from web.explorer.views import TX_HASH, is_validator

MAX_QUERY = 2_200


def resolve(sdk: Client, query: str) -> tuple[str, dict[str, Any]] | str:
    """(endpoint, its values) of the page the query names, or why nothing was found."""
    if TX_HASH.match(query):
        if _exists(lambda: sdk.transaction(bytes.fromhex(query), verify=False)):
            return "explorer.transaction", {"tx_hash": query.lower()}
        return f"There is no committed transaction with the hash {query.lower()}."
    if query.isdigit():
        if len(query) <= 18 and _exists(lambda: sdk.block(int(query))):
            return "explorer.block", {"height": str(int(query))}
        return f"There is no block {query}: the chain's head is block {sdk.status()['height']}."
    if "/" in query:
        account, key = query.split("/", 1)
        if not account or not key:
            return "Write a data account key as account/key."
        if not _exists(lambda: sdk.account(account)):
            return f"There is no data account {account!r}."
        if _exists(lambda: sdk.entry_record(account, key)["entry"] or sdk.history(account, key) or None):
            return "explorer.key", {"account": account, "key": key}
        return f"Data account {account!r} has no key {key!r}."
    try:
        sdk.user(query)
        return "explorer.user", {"address": query}
    except ApiError as exc:
        if exc.status not in (400, 404):
            raise
        is_address = exc.status == 404
    if is_address and is_validator(sdk, query):
        return "explorer.validators", {"_anchor": f"v-{query}"}
    if _exists(lambda: sdk.account(query)):
        return "explorer.account", {"account": query}
    if _exists(lambda: sdk.contract(query)):
        return "explorer.contract", {"name": query}
    if is_address:
        return f"No user or validator has the address {query}."
    return (f"Nothing matches {query!r}: not a block height, a transaction hash, an address, an account/key, "
            "a data account or a contract.")


def _exists(read: Any) -> bool:
    """Whether a read finds something: a 404 (or an empty answer) is no; restricted (401/403) means it exists."""
    try:
        return bool(read() is not None)
    except ApiError as exc:
        if exc.status in (401, 403):
            return True
        if exc.status in (400, 404):
            return False
        raise


@blueprint.get("/search")
def search() -> Response | tuple[str, int]:
    query = request.args.get("q", "").strip()
    if not query:
        return render_template("explorer/search.html", query="", message="Type a block height, a transaction hash, "
                               "an address or account/key."), 200
    if len(query) > MAX_QUERY:
        return render_template("explorer/search.html", query=query[:80], message="That is too long to be anything "
                               "on the chain."), 404
    target = resolve(client(), query)
    if isinstance(target, str):
        return render_template("explorer/search.html", query=query, search_query=query, message=target), 404
    endpoint, values = target
    return redirect(url_for(endpoint, **values))
