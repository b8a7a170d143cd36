"""Fulfilment: an issued card's way from the print queue to the holder's hand."""
