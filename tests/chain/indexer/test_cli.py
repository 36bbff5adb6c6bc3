"""`chain index sync|rebuild` against a running node: counts, checkpoint, one-line errors."""
from __future__ import annotations

import json

from click.testing import CliRunner

from chain.crypto import get_suite
from chain.cli.index import index
from tests.chain.indexer.conftest import Database, RunningNode


def test_sync_then_rebuild_from_the_command_line(db: Database, running_node: RunningNode) -> None:
    where = ["--node", f"127.0.0.1:{running_node.process.port}", "--db", db.url]
    with running_node.process.client() as client:
        status = client.status("main")
        genesis = client.call("block", ledger="main", height=0)["header"]
    first = CliRunner().invoke(index, ["sync", *where, "--ledger", "main", "--until", "0", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output) == {"ledger": "main", "indexed": 1, "height": 0,
                                        "block_hash": get_suite("sm").digest(genesis).hex()}
    rest = CliRunner().invoke(index, ["sync", *where, "--json"])
    assert rest.exit_code == 0, rest.output
    assert json.loads(rest.output) == {"ledger": "main", "indexed": status["height"], "height": status["height"],
                                       "block_hash": status["block_hash"].hex()}
    rebuilt = CliRunner().invoke(index, ["rebuild", *where])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.output.strip() == f"ledger main: indexed {status['height'] + 1} blocks; checkpoint at height {status['height']}"
    other = CliRunner().invoke(index, ["sync", *where, "--ledger", "audit"])
    assert other.exit_code == 2 and "[wrong_ledger]" in other.output and "Traceback" not in other.output
    no_db = CliRunner().invoke(index, ["sync", *where[:2], "--db", "postgresql+psycopg://postgres@127.0.0.1:1/none"])
    assert no_db.exit_code == 1 and "database postgresql+psycopg://postgres@127.0.0.1:1/none: " in no_db.output
    assert "Traceback" not in no_db.output


def test_unreachable_node_and_bad_addresses_fail_with_one_line(db: Database) -> None:
    gone = CliRunner().invoke(index, ["sync", "--node", "127.0.0.1:1", "--db", db.url])
    assert gone.exit_code == 1 and "cannot reach the node at 127.0.0.1:1" in gone.output and "Traceback" not in gone.output
    bad = CliRunner().invoke(index, ["rebuild", "--node", "no-port", "--db", db.url])
    assert bad.exit_code == 2 and "expected host:port" in bad.output
    bad_db = CliRunner().invoke(index, ["sync", "--db", "not a url"])
    assert bad_db.exit_code == 2 and "not a usable database URL" in bad_db.output
