"""Partners, policies, API keys, verification, the benefit catalogue and the redemption ledger."""
