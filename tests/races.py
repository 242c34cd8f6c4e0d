"""Run a task on many real connections released at the same instant."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from tests.conftest import Conn, connect

T = TypeVar("T")


def run_together(
    url: str | Callable[[int], str], workers: int, task: Callable[[Conn, int], T]
) -> list[T]:
    """task(conn, i) on `workers` threads, each with its own connection, started by one barrier.
    `url` may depend on i, when workers act as different roles (a job racing users).
    Any failure is re-raised after all threads finished."""
    conns = [connect(url(i) if callable(url) else url) for i in range(workers)]
    barrier = threading.Barrier(workers)
    results: list[object] = [None] * workers

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = task(conns[i], i)
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for conn in conns:
            conn.close()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]
