"""Structured logs. A log line carries codes, ids, route templates and timings: never a request
body, a query string, a client address or a personal value."""

from __future__ import annotations

import json
import logging
import logging.config
import traceback
from datetime import UTC, datetime
from typing import Any

# Uvicorn adds `color_message`, the same text with terminal colours.
_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            # Which worker process wrote it: `cityid serve --workers N` runs N of them.
            "pid": record.process,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type and where it happened; not its message, which can quote
            # values (SQL parameters, validation input).
            entry["exc_type"] = record.exc_info[0].__name__
            entry["stack"] = [f"{f.filename}:{f.lineno} {f.name}"
                              for f in traceback.extract_tb(record.exc_info[2])][-8:]
        return json.dumps(entry, default=str)


def logging_config(level: str = "INFO", *, json_lines: bool = True) -> dict[str, Any]:
    """The logging setup as a dictConfig document. `cityid serve` hands it to uvicorn, which
    applies it in every worker process it spawns: a spawned worker starts with no logging
    configured at all, so without this its request lines are dropped and its tracebacks come
    out as plain text."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"} if json_lines
        else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"cityid": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "cityid",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            # Uvicorn's access log prints the query string; ours prints the route template.
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
            # Uvicorn's own loggers carry handlers of their own unless told to use the root's.
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "alembic": {"level": "WARNING"},
        },
    }


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    logging.config.dictConfig(logging_config(level, json_lines=json_lines))
    logging.getLogger("uvicorn.access").disabled = True
