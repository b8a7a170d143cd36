"""Fees and waivers: the schedule a card's fee is computed from, and the fee as the desk
records it."""
