"""The `chain` command line: keys, CA and (later) node, ledger and contract tools."""
