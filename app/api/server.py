"""The HTTP server under the application: aiohttp's connection handler, changed in two places.

- Requests aiohttp refuses before any handler runs (a header aiohttp cannot parse, a header line
  over 8 KiB, a bad request line) are answered with a problem+json body that repeats nothing of
  the request. aiohttp's own answer is text/plain with the parser's message, which quotes the
  offending header line: a bearer token with a stray byte would be sent back.
- `Server` names no versions: `starpass` instead of `Python/3.x aiohttp/3.x`.

`starpass serve` and the tests' live server both run the app through `Runner`.
"""

from __future__ import annotations

import asyncio
import errno
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from aiohttp import hdrs, web
from aiohttp.web_protocol import RequestHandler

from app.api.app import AccessLogger
from app.api.keys import SETTINGS
from app.api.problems import code_for_status, occurrence, problem
from app.config import DEFAULT_PROBLEM_TYPE_BASE, Settings
from app.logs import get_logger

SERVER_NAME = "starpass"
SHUTDOWN_TIMEOUT_SECONDS = 10.0
_DETAILS = {
    400: "The request is not valid HTTP: its request line or a header cannot be parsed.",
    500: "An unexpected error occurred; it has been logged.",
}


class AddressInUse(Exception):
    """host:port is taken by another process; `setting` names how to choose another port."""

    def __init__(self, host: str, port: int, setting: str) -> None:
        super().__init__(
            f"cannot listen on {host}:{port}: the address is already in use (another"
            f" `starpass serve`?); choose a free port with {setting}"
        )


async def start_site(site: web.TCPSite, host: str, port: int, setting: str) -> None:
    """Binds the site; a port in use is AddressInUse (one line for the operator), not a trace."""
    try:
        await site.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUse(host, port, setting) from None
        raise


class ProblemRequestHandler(RequestHandler):
    __slots__ = ()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # aiohttp's own logs the error (app/logs.py drops the request text from that record) and
        # refuses when a response is already under way; its text/plain answer is discarded.
        super().handle_error(request, status, exc, message)
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            status, phrase = 400, HTTPStatus.BAD_REQUEST.phrase
        code = "internal_error" if status == 500 else code_for_status(status)
        manager = self._manager
        base = (
            manager.problem_type_base
            if isinstance(manager, ProblemServer)
            else DEFAULT_PROBLEM_TYPE_BASE
        )
        with occurrence(base):  # no request id: refused before it had one
            response = problem(status, code, _DETAILS.get(status, phrase))
        response.force_close()
        return response

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        # Every response of the connection passes here, the ones above included.
        if isinstance(resp, web.StreamResponse) and not resp.prepared:
            resp.headers[hdrs.SERVER] = SERVER_NAME
        return await super().finish_response(request, resp, start_time)


class ProblemServer(web.Server):
    """aiohttp's low-level server, making a ProblemRequestHandler per connection."""

    def __init__(self, *args: Any, problem_type_base: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.problem_type_base = problem_type_base

    def __call__(self) -> RequestHandler:
        # As web.Server.__call__ does (aiohttp 3.x), with the handler class above.
        return ProblemRequestHandler(self, loop=self._loop, **self._kwargs)


class Runner(web.AppRunner):
    """web.AppRunner (application start-up and clean-up as usual) serving over ProblemServer."""

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()
        return ProblemServer(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            problem_type_base=self.app[SETTINGS].starpass_problem_type_base,
            **made._kwargs,
        )


@asynccontextmanager
async def listening(
    app: web.Application, settings: Settings, host: str, port: int
) -> AsyncIterator[Runner]:
    """The application served on host:port until the block ends; in-flight requests then get
    SHUTDOWN_TIMEOUT_SECONDS, and the application's clean-up (the pool) runs."""
    runner = Runner(
        app,
        access_log_class=AccessLogger,
        keepalive_timeout=settings.starpass_http_keepalive_timeout_seconds,
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
    )
    await runner.setup()
    try:
        await start_site(web.TCPSite(runner, host, port), host, port, "--port")
        yield runner
    finally:
        await runner.cleanup()


async def serve(app: web.Application, settings: Settings, host: str, port: int) -> None:
    """`starpass serve`: until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with listening(app, settings, host, port):
        # Only once the port is ours: a log collector waiting for this line can rely on it.
        get_logger("app.server").info("server_listening", url=f"http://{host}:{port}")
        await stop.wait()
