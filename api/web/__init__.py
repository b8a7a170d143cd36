"""Server-rendered web pages (Jinja2) for clerks, partners, applicants and administrators."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import Rule

router = APIRouter(tags=["web"])

# Access rules of the web routes, merged into the one matrix in api/access.py.
ACCESS: dict[tuple[str, str], Rule] = {}
