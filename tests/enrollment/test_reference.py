"""Application references: random, readable aloud, and checked before any lookup."""

from __future__ import annotations

import re

import pytest

from enrollment.reference import (
    ALPHABET,
    ENTROPY_BITS,
    InvalidReference,
    is_valid_reference,
    new_reference,
    normalise_reference,
)

FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def _symbols(reference: str) -> str:
    return reference.replace("-", "")


def test_new_reference_has_the_grouped_format() -> None:
    for _ in range(200):
        assert FORMAT.match(new_reference())


def test_reference_carries_at_least_50_bits() -> None:
    assert ENTROPY_BITS >= 50


def test_new_reference_is_valid_and_already_canonical() -> None:
    for _ in range(200):
        reference = new_reference()
        assert normalise_reference(reference) == reference


def test_ten_thousand_references_are_distinct() -> None:
    references = {new_reference() for _ in range(10_000)}
    assert len(references) == 10_000


def test_every_single_symbol_typo_is_caught() -> None:
    symbols = _symbols(new_reference())
    for position in range(len(symbols)):
        for replacement in ALPHABET:
            if replacement == symbols[position]:
                continue
            typo = symbols[:position] + replacement + symbols[position + 1:]
            assert not is_valid_reference(typo), (position, replacement)


def test_every_swap_of_neighbouring_data_symbols_is_caught() -> None:
    # Crockford's mod-37 check catches swaps within the data; a swap with the check symbol
    # itself is not guaranteed, so it is not claimed here.
    for _ in range(50):
        symbols = _symbols(new_reference())
        for position in range(len(symbols) - 2):
            a, b = symbols[position], symbols[position + 1]
            if a == b:
                continue
            swapped = symbols[:position] + b + a + symbols[position + 2:]
            assert not is_valid_reference(swapped), (symbols, position)


def test_lower_case_spaces_and_missing_hyphens_are_accepted() -> None:
    reference = new_reference()
    spoken = " ".join(_symbols(reference).lower())
    assert normalise_reference(spoken) == reference
    assert normalise_reference(_symbols(reference)) == reference


@pytest.mark.parametrize(("canonical", "lookalike"), [("1", "I"), ("1", "l"), ("0", "O"),
                                                      ("0", "o"), ("1", "L"), ("1", "i")])
def test_crockford_lookalikes_are_read_as_digits(canonical: str, lookalike: str) -> None:
    for _ in range(500):
        reference = new_reference()
        if canonical in reference:
            break
    else:
        pytest.fail("no reference with the digit was drawn")
    assert normalise_reference(reference.replace(canonical, lookalike)) == reference


@pytest.mark.parametrize("text", ["", "ABCD-EFGH", "ABCD-EFGH-JKMN-P", "ABCD-EFGH-JKU0",
                                  "ABCD-EFGH-JK*0", "x" * 1000, "ABCD/EFGH/JKMN"])
def test_malformed_references_are_refused(text: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        normalise_reference(text)
    assert caught.value.code == "invalid_reference"
    assert not is_valid_reference(text)


def test_wrong_check_symbol_is_refused() -> None:
    symbols = _symbols(new_reference())
    wrong = ALPHABET[(ALPHABET.index(symbols[-1]) + 1) % 32]
    with pytest.raises(InvalidReference, match="typing mistake"):
        normalise_reference(symbols[:-1] + wrong)
