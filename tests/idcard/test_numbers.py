from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idcard.numbers import (
    CardNumberSpaceExhausted,
    generate_card_number,
    is_weak,
    luhn_check_digit,
    luhn_valid,
)


def with_check_digit(payload: str) -> str:
    return payload + luhn_check_digit(payload)


def test_known_luhn_numbers_validate() -> None:
    assert luhn_valid("79927398713")
    assert luhn_valid("4539148803436467")
    assert not luhn_valid("4539148803436468")


def test_luhn_refuses_non_digits() -> None:
    assert not luhn_valid("4539 1488 0343 6467")
    assert not luhn_valid("")
    assert not luhn_valid("٤٥٣٩١٤٨٨٠٣٤٣٦٤٦٧")  # Arabic-Indic digits pass str.isdigit()


@given(st.text(alphabet="0123456789", min_size=15, max_size=15), st.integers(0, 15),
       st.integers(1, 9))
def test_luhn_catches_every_single_digit_error(payload: str, position: int, shift: int) -> None:
    number = with_check_digit(payload)
    wrong = str((int(number[position]) + shift) % 10)
    assert not luhn_valid(number[:position] + wrong + number[position + 1:])


def test_generated_numbers_are_16_digit_luhn_and_not_weak() -> None:
    for _ in range(2000):
        number = generate_card_number()
        assert len(number) == 16
        assert number.isdigit()
        assert luhn_valid(number)
        assert not is_weak(number)


def test_generated_numbers_do_not_repeat() -> None:
    numbers = {generate_card_number() for _ in range(2000)}
    assert len(numbers) == 2000


def test_a_safe_number_is_not_weak() -> None:
    assert not is_weak(with_check_digit("739201846502817"))


@pytest.mark.parametrize(("payload", "pattern"), [
    ("039201846502817", "leading zero"),
    ("739201111502817", "digit repeated four times"),
    ("739212345902817", "ascending run of five"),
    ("739287654902817", "descending run of five"),
])
def test_weak_patterns_are_refused(payload: str, pattern: str) -> None:
    assert is_weak(with_check_digit(payload)), pattern


def test_runs_and_repeats_just_under_the_limit_are_allowed() -> None:
    assert not is_weak(with_check_digit("739201114502817"))  # three 1s
    assert not is_weak(with_check_digit("739212346902817"))  # 1234 ascending
    assert not is_weak(with_check_digit("739243216902817"))  # 4321 descending


def test_equal_halves_are_weak() -> None:
    assert is_weak("7392018473920184")


def test_mirrored_halves_are_weak() -> None:
    assert is_weak("7392018448102937")


def test_malformed_numbers_count_as_weak() -> None:
    assert is_weak("123")
    assert is_weak("73920184650281a7")


def test_generation_skips_numbers_already_taken() -> None:
    taken: set[str] = set()

    def is_taken(number: str) -> bool:
        if len(taken) < 5:
            taken.add(number)
            return True
        return number in taken

    number = generate_card_number(is_taken)
    assert number not in taken
    assert len(taken) == 5


def test_generation_gives_up_when_every_number_is_taken() -> None:
    with pytest.raises(CardNumberSpaceExhausted):
        generate_card_number(lambda _: True)
