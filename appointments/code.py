"""Booking codes: what a resident keeps to change or cancel an appointment.

Ten random Crockford base32 symbols (50 bits) and Crockford's mod-37 check symbol, shown as
``XXXX-XXXX-XXX``, made like application references (enrollment/reference.py) but one symbol
shorter and a different length, so the two can't be mistaken for each other. The code is a
bearer secret: only its blind index is stored, and lookups are throttled.
"""

from __future__ import annotations

import secrets

from appointments.errors import InvalidBookingCode
from enrollment.reference import ALPHABET, CHECK_ALPHABET

DATA_SYMBOLS = 10
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_SUBSTITUTE = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = str.maketrans("", "", " -\t")


def _check_symbol(data: str) -> str:
    number = 0
    for symbol in data:
        number = number * 32 + _VALUE[symbol]
    return CHECK_ALPHABET[number % 37]


def _format(symbols: str) -> str:
    return f"{symbols[:4]}-{symbols[4:8]}-{symbols[8:]}"


def new_code() -> str:
    while True:
        data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_SYMBOLS))
        check = _check_symbol(data)
        if check in ALPHABET:  # as for references: no "*~$=U" to read aloud
            return _format(data + check)


def normalise_code(text: str) -> str:
    if len(text) > 40:
        raise InvalidBookingCode()
    symbols = text.upper().translate(_SEPARATORS).translate(_SUBSTITUTE)
    if len(symbols) != DATA_SYMBOLS + 1 or any(s not in _VALUE for s in symbols):
        raise InvalidBookingCode()
    if _check_symbol(symbols[:-1]) != symbols[-1]:
        raise InvalidBookingCode("The booking code has a typing mistake; please check it")
    return _format(symbols)
