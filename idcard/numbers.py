"""Card numbers: 16 digits from the CSPRNG, the last one a Luhn check digit.

A card number is printed and read aloud, so numbers a person would take for a test value or
could guess from a pattern (runs, repeats, mirrored halves) are never issued.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from itertools import pairwise

from cityid.errors import AppError, ErrorKind

LENGTH = 16
MAX_RUN = 4  # a strictly ascending or descending run of 5 digits is weak
MAX_REPEAT = 3  # the same digit 4 times in a row is weak
MAX_ATTEMPTS = 1000


class CardNumberSpaceExhausted(AppError):
    kind = ErrorKind.UNAVAILABLE
    code = "card_number_unavailable"
    title = "No free card number could be drawn; try again"


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # doubled, because the check digit will sit to its right
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    if len(number) < 2 or not number.isascii() or not number.isdigit():
        return False
    return luhn_check_digit(number[:-1]) == number[-1]


def _longest_step_run(number: str, step: int) -> int:
    longest = current = 1
    for left, right in pairwise(number):
        current = current + 1 if int(right) - int(left) == step else 1
        longest = max(longest, current)
    return longest


def _longest_repeat(number: str) -> int:
    longest = current = 1
    for left, right in pairwise(number):
        current = current + 1 if right == left else 1
        longest = max(longest, current)
    return longest


def is_weak(number: str) -> bool:
    """True for a number that looks made up or guessable; such numbers are never issued."""
    if len(number) != LENGTH or not number.isascii() or not number.isdigit():
        return True
    half = LENGTH // 2
    first, last = number[:half], number[half:]
    return (
        number[0] == "0"
        or _longest_repeat(number) > MAX_REPEAT
        or _longest_step_run(number, 1) > MAX_RUN
        or _longest_step_run(number, -1) > MAX_RUN
        or first == last
        or first == last[::-1]
    )


def is_valid_card_number(number: str) -> bool:
    """Well formed: 16 ASCII digits with a correct check digit. Says nothing about weakness."""
    return len(number) == LENGTH and luhn_valid(number)


def generate_card_number(is_taken: Callable[[str], bool] | None = None) -> str:
    """Draw a fresh card number. ``is_taken`` lets the caller enforce uniqueness against its store;
    the database's unique constraint still has the last word under concurrency."""
    for _ in range(MAX_ATTEMPTS):
        payload = str(1 + secrets.randbelow(9)) + "".join(
            str(secrets.randbelow(10)) for _ in range(LENGTH - 2)
        )
        number = payload + luhn_check_digit(payload)
        if is_weak(number):
            continue
        if is_taken is not None and is_taken(number):
            continue
        return number
    raise CardNumberSpaceExhausted()
