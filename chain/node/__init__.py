"""The node daemon: ledgers, mempools, block production, and the client port."""
