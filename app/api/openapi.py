"""One route table, two uses: `register` adds its operations to the aiohttp application (each
guarded by its scope), `document` turns the same table into the OpenAPI 3.1 document. The
table itself is `app/api/routes.py`; the schemas come from the models the views parse
(`app/api/bodies.py`) and the tests validate responses with (`app/api/schemas.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from app.api.auth import View, requires
from app.api.schemas import Problem

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Reply:
    """A successful answer: a model as JSON, or another media type with a plain schema."""

    status: int
    model: type[BaseModel] | None = None
    media: str = JSON
    schema: dict[str, Any] | None = None
    description: str = "OK"
    headers: dict[str, str] = field(default_factory=dict)  # name -> description


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    view: View
    operation_id: str
    tag: str
    summary: str
    description: str
    ok: Reply
    # Statuses answered with a problem, besides 401/403 (from the scope) and 408 (a body that
    # did not arrive in time), which are added for every operation they apply to.
    problems: tuple[int, ...] = ()
    scope: str | None = None  # the bearer token scope; None: no token needed
    body: type[BaseModel] | None = None
    parameters: tuple[dict[str, Any], ...] = ()
    replies: tuple[Reply, ...] = ()  # other non-problem answers (e.g. 429 THROTTLED)

    def problem_statuses(self) -> list[int]:
        statuses = {*self.problems}
        if self.scope is not None:
            statuses |= {401, 403}
        if self.body is not None:
            statuses.add(408)
        return sorted(statuses - {r.status for r in self.replies})


def register(app: web.Application, operations: tuple[Operation, ...]) -> None:
    for op in operations:
        view = requires(op.scope)(op.view) if op.scope is not None else op.view
        if op.method == "GET":  # HEAD answered too, as aiohttp's route tables do
            app.router.add_get(op.path, view, name=op.operation_id)
        else:
            app.router.add_route(op.method, op.path, view, name=op.operation_id)


def path_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer", "minimum": 1},
    }


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _reply(reply: Reply) -> dict[str, Any]:
    schema = _ref(reply.model) if reply.model is not None else reply.schema or {}
    answer: dict[str, Any] = {
        "description": reply.description,
        "content": {reply.media: {"schema": schema}},
    }
    if reply.headers:
        answer["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in reply.headers.items()
        }
    return answer


def _operation(op: Operation) -> dict[str, Any]:
    responses = {str(r.status): _reply(r) for r in (op.ok, *op.replies)}
    for status in op.problem_statuses():
        responses[str(status)] = {
            "description": "A problem (RFC 9457); its `code` is listed in docs/errors.md",
            "content": {PROBLEM_JSON: {"schema": _ref(Problem)}},
        }
    document: dict[str, Any] = {
        "operationId": op.operation_id,
        "tags": [op.tag],
        "summary": op.summary,
        "description": op.description,
        "security": [{"bearer": [op.scope]}] if op.scope is not None else [],
        "responses": dict(sorted(responses.items())),
    }
    if op.parameters:
        document["parameters"] = list(op.parameters)
    if op.body is not None:
        document["requestBody"] = {"required": True, "content": {JSON: {"schema": _ref(op.body)}}}
    return document


def _models(operations: tuple[Operation, ...]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {Problem.__name__: Problem}
    for op in operations:
        for reply in (op.ok, *op.replies):
            if reply.model is not None:
                found[reply.model.__name__] = reply.model
        if op.body is not None:
            found[op.body.__name__] = op.body
    return [found[name] for name in sorted(found)]


def document(
    operations: tuple[Operation, ...], info: dict[str, Any], tags: dict[str, str]
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `operations`; `tags` (name -> description) in this order."""
    schemas: dict[str, Any] = {}
    for model in _models(operations):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": info,
        "tags": [{"name": name, "description": text} for name, text in tags.items()],
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": paths,
    }
