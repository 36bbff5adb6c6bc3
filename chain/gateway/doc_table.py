"""The endpoint table of docs/gateway.md, from the same declarations as the routes: python -m chain.gateway.doc_table"""
from __future__ import annotations

from chain.gateway.api import api


def rows() -> list[str]:
    """One Markdown row per endpoint: method, path, auth, summary."""
    def auth(path: str, required: bool) -> str:
        if required:
            return "token"
        return "token if the account has readers" if "/accounts/" in path else "—"

    return [f"| {e.method} | `/v1{e.path}` | {auth(e.path, e.auth)} | {e.summary} |" for e in api.endpoints]


def main() -> None:
    """Print the table."""
    print("| method | path | auth | what |")
    print("|---|---|---|---|")
    for row in rows():
        print(row)


if __name__ == "__main__":
    main()
