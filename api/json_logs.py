"""Logs of the server: one JSON object per line, or plain text.

``CARBON_LEDGER_LOG_FORMAT`` chooses: ``json`` (the default of ``carbon-ledger serve``) or
``text``. A JSON line holds ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
``request_id`` when the line was written while serving a request, and the fields a record
carries in ``extra`` (the access log: ``method``, ``route``, ``path``, ``status``,
``duration_ms``, ``participant``); an exception's traceback is in ``exception``.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

from api.request_context import current_request

__all__ = ["ACCESS_LOGGER", "FIELDS", "JsonFormatter", "TextFormatter", "log_format",
           "logging_config"]

ACCESS_LOGGER = "api.access"
FIELDS = ("request_id", "method", "route", "path", "status", "duration_ms", "participant")
FORMATS = ("json", "text")


def log_format(default: str = "json") -> str:
    """The format chosen by ``CARBON_LEDGER_LOG_FORMAT`` (``json`` or ``text``)."""
    chosen = (os.environ.get("CARBON_LEDGER_LOG_FORMAT") or default).strip().lower()
    if chosen not in FORMATS:
        raise ValueError(f"CARBON_LEDGER_LOG_FORMAT must be json or text, not {chosen!r}")
    return chosen


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    info = current_request()
    if info is not None:
        fields["request_id"] = info.request_id
        if info.participant is not None:
            fields["participant"] = str(info.participant)
    for name in FIELDS:
        value = record.__dict__.get(name)
        if value is not None:
            fields[name] = str(value) if name == "participant" else value
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_fields(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["exception"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def _text(value: object) -> str:
    """A field's value as one token: quoted (JSON) unless plainly printable without spaces,
    so a path holding a line break cannot forge a log line."""
    text = str(value)
    return text if text.isprintable() and " " not in text and '"' not in text and text else (
        json.dumps(text))


class TextFormatter(logging.Formatter):
    """``time level logger message key=value...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{name}={_text(value)}" for name, value in _fields(record).items())
        return f"{text} {extra}" if extra else text


def logging_config(fmt: str, level: str = "info") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for the server (uvicorn's loggers included):
    everything to stderr in ``fmt``; uvicorn's own access log is left off (the app writes
    its own, with the request id, to ``api.access``)."""
    formatter = "api.json_logs.JsonFormatter" if fmt == "json" else "api.json_logs.TextFormatter"
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"server": {"()": formatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "server",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
