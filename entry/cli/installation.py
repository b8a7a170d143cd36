"""``cityid verify`` inside an installation with neither ``--issuer`` nor ``--jwks``: the
installation's own key set, status list and verifier keys, read as the API publishes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cityid.db import unit_of_work
from entry.cli.common import command_runtime
from idcard import service as card_service


def own_documents(status_file: Path | None) -> tuple[dict[str, Any], bytes, dict[str, bytes]]:
    """The key set, the status list (``status_file``'s, when given) and the verifier keys."""
    runtime = command_runtime()
    with unit_of_work(runtime.sessions) as session:
        jwks = card_service.published_keys(session, desk=runtime.cards)
        document = (status_file.read_bytes() if status_file else
                    card_service.status_list(session, desk=runtime.cards)[0])
    return jwks, document, card_service.verifier_keys(runtime.cards)
