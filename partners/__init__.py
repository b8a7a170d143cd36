"""Partners: the institutions that check cards, their disclosure policies, their verification
purposes and their API keys. Below staff (a partner's own accounts belong to a partner) and above
privacy; verification, benefits and the ledger in ``redemption`` build on it."""
