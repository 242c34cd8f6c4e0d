"""Who runs a command, as the audit log records an operator: ops:<OS user>."""

from __future__ import annotations

import getpass
import os


def operator() -> str:
    try:
        return f"ops:{getpass.getuser()}"[:128]
    except (KeyError, OSError):  # pragma: no cover - no user name for this uid
        return f"ops:uid-{os.getuid()}"
