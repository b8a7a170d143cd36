"""cards: numbers, Claim 169 credentials, images, lifecycle, status list, offline verifier."""
