"""Holder self-service: one-time codes to the contact on file, and what a holder can do with one
(history, lost-card lock, replacement, renewal, contacts, notification choices)."""
