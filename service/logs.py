"""Logging for `serve`: uvicorn's format, with tokens redacted from every line.

uvicorn logs WebSocket paths with their query string at INFO, even with the
access log off, so `?token=…` would otherwise land in the logs."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import unquote_plus

from uvicorn.config import LOGGING_CONFIG

# A query string in a log line: from "?" to the next space. Not to a quote: a
# client may put one before its token (the log format's closing quote is kept).
_QUERY = re.compile(r"\?(\S*)")
# A JWT anywhere, however it got into the line.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """Tokens out of a log line: the value of every query parameter whose name,
    decoded as the app decodes it and in any case, mentions a token (so
    `?%74oken=` and `?TOKEN=` too), and anything shaped like a JWT."""
    if "?" in text:
        text = _QUERY.sub(_redact_query, text)
    return _JWT.sub(REDACTED, text) if "eyJ" in text else text


def _redact_query(match: re.Match[str]) -> str:
    pairs = []
    for pair in match.group(1).split("&"):
        name, sep, _ = pair.partition("=")
        if sep and "token" in unquote_plus(name).lower():
            pair = f"{name}={REDACTED}" + ('"' if pair.endswith('"') else "")
        pairs.append(pair)
    return "?" + "&".join(pairs)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def log_config() -> dict[str, Any]:
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_tokens": {"()": "service.logs.RedactTokens"}}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_tokens")
    config["loggers"]["service"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
