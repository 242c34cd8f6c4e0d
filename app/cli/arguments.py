"""argparse types the commands share."""

from __future__ import annotations

import argparse
from datetime import datetime


def timestamp(raw: str) -> datetime:
    """argparse type: an ISO 8601 timestamp with its offset (2030-01-31T12:00:00Z)."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not an ISO 8601 timestamp with an offset, e.g. 2030-01-31T12:00:00Z"
        )
    return moment
