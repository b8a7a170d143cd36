"""The document rulebook's file: its format, checked when loaded, and reading it.

A city's rulebook is data (``rulebook.yaml`` beside this package, or the city's own file). Every
setting is validated here, with a message that names the setting, so a city editing its file
learns what is wrong before the service enrolls anyone under rules it does not understand.
"""

from __future__ import annotations

from collections.abc import Hashable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from cityid.errors import AppError, ErrorKind

DEFAULT_RULEBOOK_PATH = Path(__file__).with_name("rulebook.yaml")


class DocumentCategory(StrEnum):
    IDENTITY = "identity"
    RESIDENCY = "residency"
    AGE = "age"
    RELATIONSHIP = "relationship"


class RulebookInvalid(AppError):
    # The service cannot enroll anyone under a rulebook it does not understand.
    kind = ErrorKind.UNAVAILABLE
    code = "rulebook_invalid"
    title = "The document rulebook is not valid"


# --- the rulebook file ----------------------------------------------------------------------


def _positive_int(value: object) -> object:
    # bool is an int in Python, and YAML turns "yes" into True: neither is a number of points.
    if type(value) is not int or value <= 0:
        raise ValueError("must be a positive integer")
    return value


PositiveInt = Annotated[int, BeforeValidator(_positive_int)]
KindName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
Showing = Literal["always", "sometimes", "never"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpiredGrace(_Model):
    years: PositiveInt
    points: PositiveInt


class DocumentSpec(_Model):
    label: str = Field(min_length=1, max_length=160)
    category: DocumentCategory
    points: PositiveInt
    date: Literal["expiry", "issue", "none"] = "none"
    recent_within_days: PositiveInt | None = None
    expired_grace: ExpiredGrace | None = None
    photo: Showing
    date_of_birth: Showing

    @model_validator(mode="after")
    def _consistent(self) -> DocumentSpec:
        if self.expired_grace is not None:
            if self.date != "expiry":
                raise ValueError("expired_grace needs date: expiry")
            if self.expired_grace.points > self.points:
                raise ValueError("expired_grace.points must not exceed points")
        if self.recent_within_days is not None:
            if self.category is not DocumentCategory.RESIDENCY:
                raise ValueError("recent_within_days applies only to residency documents")
            if self.date != "issue":
                raise ValueError("recent_within_days needs date: issue")
        return self


class Requirements(_Model):
    total_points: PositiveInt
    total_counts: list[DocumentCategory] = Field(min_length=1)
    category_points: dict[DocumentCategory, PositiveInt]
    document_with_photo: StrictBool
    document_with_date_of_birth: StrictBool


class Ages(_Model):
    minimum: PositiveInt
    caretaker_through: PositiveInt | None = None
    caretaker_relationship_points: PositiveInt = 1

    @model_validator(mode="after")
    def _consistent(self) -> Ages:
        if self.caretaker_through is not None and self.caretaker_through < self.minimum:
            raise ValueError("caretaker_through must not be below minimum")
        return self


class ValidityBand(_Model):
    from_age: PositiveInt
    years: PositiveInt


class RulebookFile(_Model):
    name: str = Field(min_length=1, max_length=160)
    requirements: Requirements
    ages: Ages
    card_validity: list[ValidityBand] = Field(min_length=1)
    documents: dict[KindName, DocumentSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RulebookFile:
        starts = [band.from_age for band in self.card_validity]
        if starts != sorted(set(starts)):
            raise ValueError("card_validity bands must be in increasing from_age order")
        if starts[0] != self.ages.minimum:
            # Otherwise an eligible applicant could fall below every band.
            raise ValueError("the first card_validity band must start at ages.minimum")
        offered = {spec.category for spec in self.documents.values()}
        for category in self.requirements.category_points:
            if category not in offered:
                raise ValueError(f"requirements.category_points.{category.value}: "
                                 f"no document kind gives {category.value} points")
        if (self.ages.caretaker_through is not None
                and DocumentCategory.RELATIONSHIP not in offered):
            raise ValueError("ages.caretaker_through: no document kind proves a relationship")
        return self

# --- loading --------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice: PyYAML would silently keep the last one, and a
    city editing its rulebook would never learn that half of an entry was ignored."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _describe(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"] if part != "[key]")
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "missing":
        what = "is required"
    elif kind == "extra_forbidden":
        what = "is not a known setting"
    elif kind in {"enum", "literal_error"}:
        what = f"must be one of {ctx.get('expected')}"
    elif kind == "value_error":
        what = str(ctx.get("error"))
    elif kind == "string_pattern_mismatch":
        what = "must be lower case letters, digits and underscores, starting with a letter"
    else:
        what = f"is not valid: {error['msg']}"
    return f"{where} {what}" if where else what


def read_rulebook_file(path: Path | None = None) -> tuple[RulebookFile, bytes]:
    """The validated rulebook and the bytes it was read from (their hash is its fingerprint)."""
    source = path or DEFAULT_RULEBOOK_PATH
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise RulebookInvalid(f"{source.name}: cannot be read ({exc.strerror})") from exc
    try:
        data = yaml.load(raw, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise RulebookInvalid(f"{source.name}: {problem}{line}") from exc
    if not isinstance(data, dict):
        raise RulebookInvalid(f"{source.name}: must be a mapping of settings")
    try:
        spec = RulebookFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise RulebookInvalid(f"{source.name}: {problems}") from exc
    return spec, raw
