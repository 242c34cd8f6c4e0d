"""Bearer tokens with scopes (INTERNAL_API_TOKENS_JSON); the token's name is the audit actor."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from app.api.keys import ACTOR, SETTINGS
from app.api.problems import problem

View = Callable[[web.Request], Awaitable[web.StreamResponse]]


def requires(scope: str) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        async def guarded(request: web.Request) -> web.StreamResponse:
            scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not (presented.isascii() and presented.isprintable()):
                presented = ""
            name, scopes = None, frozenset[str]()
            # Compare with every token, always: timing reveals neither a match nor which.
            for token in request.app[SETTINGS].api_tokens:
                if hmac.compare_digest(presented.encode(), token.token.get_secret_value().encode()):
                    name, scopes = token.name, token.scopes
            if not presented or name is None:
                return problem(
                    401,
                    "unauthorized",
                    "A valid bearer token is required.",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            if scope not in scopes:
                return problem(403, "forbidden", f"This token lacks the scope {scope}.")
            request[ACTOR] = name
            return await view(request)

        return guarded

    return decorate
