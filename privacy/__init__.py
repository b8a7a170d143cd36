"""Privacy: keys, envelope encryption, blind indexes, forbidden fields and the audit chain.

Only this package touches key material, ciphertext and blind indexes.
"""
