"""Application references: what an applicant reads out on the phone or types into the status page.

A reference is 11 random Crockford base32 symbols (55 bits) and Crockford's mod-37 check symbol,
shown as ``XXXX-XXXX-XXXX``. Random rather than sequential, so that one reference says nothing
about the others and guessing one is hopeless; the check symbol catches a mistyped symbol and
two swapped neighbours before any lookup is made.

The encoding is a few lines, so it is written here rather than taken from the unmaintained
``base32-crockford`` package (last released in 2015, untyped).
"""

from __future__ import annotations

import secrets

from cityid.errors import AppError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Crockford's extra check symbols for the values 32 to 36.
CHECK_ALPHABET = ALPHABET + "*~$=U"
DATA_SYMBOLS = 11
GROUP = 4
ENTROPY_BITS = DATA_SYMBOLS * 5

_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
# Crockford decoding: read the look-alikes as the symbols they resemble.
_SUBSTITUTE = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = str.maketrans("", "", " -\t")


class InvalidReference(AppError):
    code = "invalid_reference"
    title = "This is not a valid application reference"


def _check_symbol(data: str) -> str:
    number = 0
    for symbol in data:
        number = number * 32 + _VALUE[symbol]
    return CHECK_ALPHABET[number % 37]


def _format(symbols: str) -> str:
    return "-".join(symbols[i:i + GROUP] for i in range(0, len(symbols), GROUP))


def new_reference() -> str:
    while True:
        data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_SYMBOLS))
        check = _check_symbol(data)
        # Only 32 of the 37 check values are letters or digits; "*~$=U" are awkward to read
        # aloud and to type, so such draws are discarded. That costs 0.2 bits of the 55.
        if check in ALPHABET:
            return _format(data + check)


def normalise_reference(text: str) -> str:
    """The canonical form of a reference as a person typed it, or ``InvalidReference``."""
    if len(text) > 64:
        raise InvalidReference()
    symbols = text.upper().translate(_SEPARATORS).translate(_SUBSTITUTE)
    if len(symbols) != DATA_SYMBOLS + 1 or any(s not in _VALUE for s in symbols):
        raise InvalidReference()
    data, check = symbols[:-1], symbols[-1]
    if _check_symbol(data) != check:
        raise InvalidReference("The reference has a typing mistake; please check it")
    return _format(symbols)


def is_valid_reference(text: str) -> bool:
    try:
        normalise_reference(text)
    except InvalidReference:
        return False
    return True
