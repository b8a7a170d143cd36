"""Imports every package's models so the metadata is complete (for Alembic and tests)."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "privacy.models",
    "staff.models",
    "enrollment.models",
    "idcard.models",
    "redemption.models",
    "sites.models",
    "appointments.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
