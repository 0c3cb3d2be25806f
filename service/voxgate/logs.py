"""structlog set-up, done once per process; a request id is bound per call via contextvars."""

from __future__ import annotations

import contextvars
import logging
import sys

import structlog

_configured = False


def configure(level: str = "info", json: bool = False) -> None:
    """Configure structlog and stdlib logging once; later calls are no-ops."""
    global _configured
    if _configured:
        return
    _configured = True
    numeric = logging.getLevelName(level.upper())
    logging.basicConfig(level=numeric, stream=sys.stderr, format="%(message)s")
    renderer = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A logger carrying `component=name` and whatever the current call has bound."""
    return structlog.get_logger().bind(component=name)


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def request_id() -> str:
    """The id of the call being served (set by the request-id interceptor)."""
    return REQUEST_ID.get()
