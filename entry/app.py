"""The app servers start (``uvicorn entry.app:create_app --factory``, which ``cityid serve``
runs): the runtime built here, then the app api/app.py makes around it."""

from __future__ import annotations

from fastapi import FastAPI

from api import app as api_app
from api.runtime import Runtime
from cityid.settings import Settings, get_settings
from entry.runtime import build_runtime


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or get_settings()
    return api_app.create_app(settings, runtime or build_runtime(settings))
