"""Structured JSON logs on stderr: one object per line, for the server and its libraries."""

from __future__ import annotations

import logging
import sys

import structlog

_SHARED_PROCESSORS: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class _NoRawRequests(logging.Filter):
    """aiohttp logs an unparsable request with the offending header line, which can hold a
    bearer token: keep the error class, drop the text and the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            if type(error).__module__.startswith("aiohttp.http_exceptions"):
                record.msg = f"bad HTTP request: {type(error).__name__}"
                record.args = ()
                record.exc_info = None
                record.exc_text = None
        return True


def configure_logging(level: str = "INFO") -> None:
    structlog.configure(
        processors=[
            *_SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED_PROCESSORS,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    handler.set_name("starpass-json")
    root = logging.getLogger()
    # Replace only our own handler, so calling this twice (or under pytest) adds no duplicate.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "starpass-json"] + [handler]
    root.setLevel(level.upper())
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _NoRawRequests) for f in server_log.filters):
        server_log.addFilter(_NoRawRequests())


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
