"""Districts: the ZIP code to district mapping the reports group home addresses by, a file
in data (oversight/districts.yaml, or $CITYID_DISTRICTS_PATH)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from cityid.errors import AppError, ErrorKind
from enrollment.schemas import Address

DISTRICTS_FILE = Path(__file__).parents[1] / "districts.yaml"
DISTRICTS_ENV = "CITYID_DISTRICTS_PATH"
OTHER, NO_FIXED_ADDRESS = "other", "no fixed address"


class DistrictMapInvalid(AppError):
    kind = ErrorKind.UNAVAILABLE
    code = "district_map_invalid"
    title = "The ZIP code to district mapping could not be read"


@dataclass(frozen=True)
class DistrictMap:
    names: tuple[str, ...]
    zips: Mapping[str, str]
    prefixes: Mapping[str, str]

    @property
    def groups(self) -> tuple[str, ...]:
        return (*self.names, OTHER, NO_FIXED_ADDRESS)

    def district_of(self, address: Address | None) -> str:
        if address is None:  # no address, or a care-of address
            return NO_FIXED_ADDRESS
        zip5 = address.postal_code[:5]
        if zip5 in self.zips:
            return self.zips[zip5]
        for length in range(4, 0, -1):
            if zip5[:length] in self.prefixes:
                return self.prefixes[zip5[:length]]
        return OTHER


def load_districts(path: Path | None = None) -> DistrictMap:
    """The mapping at ``path``; else at $CITYID_DISTRICTS_PATH; else the shipped one."""
    chosen = path or Path(os.environ.get(DISTRICTS_ENV) or DISTRICTS_FILE)
    try:
        return _parse_districts(str(chosen.resolve()), chosen.stat().st_mtime_ns)
    except OSError:
        raise DistrictMapInvalid("The ZIP code to district mapping file is missing") from None


@lru_cache(maxsize=4)
def _parse_districts(path: str, _mtime: int) -> DistrictMap:
    try:
        entries = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["districts"]
        names: list[str] = []
        zips: dict[str, str] = {}
        prefixes: dict[str, str] = {}
        for entry in entries:
            name = str(entry["name"]).strip()
            if not name or name in (*names, OTHER, NO_FIXED_ADDRESS):
                raise ValueError(name)
            names.append(name)
            for key, pattern, target in (("zips", r"[0-9]{5}", zips),
                                         ("prefixes", r"[0-9]{1,4}", prefixes)):
                for code in entry.get(key) or ():
                    code = str(code)
                    if not re.fullmatch(pattern, code) or code in target:
                        raise ValueError(code)
                    target[code] = name
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError):
        raise DistrictMapInvalid("The ZIP code to district mapping has an invalid, duplicate "
                                 "or missing entry") from None
    return DistrictMap(tuple(names), zips, prefixes)
