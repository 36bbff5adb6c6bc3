"""Business applications; each reaches the chain only through chain.sdk."""
