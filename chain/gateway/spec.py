"""Endpoints declared once: the Flask routes and the OpenAPI 3 document come from the same declarations."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": ["string", "null"]}}}},
}
HEX = {"type": "string", "pattern": "^([0-9a-f]{2})*$"}
NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$"}
OBJECT: dict[str, Any] = {"type": "object"}


@dataclass(frozen=True)
class Param:
    """A path or query parameter."""

    name: str
    where: str  # "path" or "query"
    schema: dict[str, Any]
    description: str = ""
    required: bool = True
    #: A path parameter that may contain "/" (servers decode %2F before routing, so it must match across segments).
    greedy: bool = False


@dataclass
class Endpoint:
    """One operation of the API."""

    method: str
    path: str
    summary: str
    tag: str
    params: list[Param]
    body: dict[str, Any] | None
    response: dict[str, Any]
    statuses: tuple[int, ...]
    auth: bool
    streaming: bool = False


@dataclass
class Api:
    """Collects endpoints on a blueprint and renders the OpenAPI document."""

    blueprint: Blueprint
    endpoints: list[Endpoint] = field(default_factory=list)

    def route(self, method: str, path: str, *, summary: str, tag: str, params: list[Param] | None = None,
              body: dict[str, Any] | None = None, response: dict[str, Any] | None = None,
              statuses: tuple[int, ...] = (400, 404), auth: bool = False, streaming: bool = False,
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a handler for METHOD path (OpenAPI {param} syntax)."""
        endpoint = Endpoint(method, path, summary, tag, params or [], body, response or OBJECT, statuses, auth, streaming)
        self.endpoints.append(endpoint)
        greedy = {p.name for p in endpoint.params if p.greedy}
        rule = re.sub(r"{(\w+)}", lambda m: f"<path:{m[1]}>" if m[1] in greedy else f"<{m[1]}>", path)

        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.blueprint.add_url_rule(rule, endpoint=f"{method.lower()}_{handler.__name__}", view_func=handler,
                                        methods=[method])
            return handler

        return register

    def openapi(self, prefix: str, title: str, version: str) -> dict[str, Any]:
        """The OpenAPI 3.1 document."""
        paths: dict[str, Any] = {}
        for e in self.endpoints:
            responses: dict[str, Any] = {}
            if e.streaming:
                responses["200"] = {"description": "server-sent events", "content": {"text/event-stream": {"schema": {"type": "string"}}}}
            else:
                responses["200"] = {"description": "OK", "content": {"application/json": {"schema": e.response}}}
            for status in sorted({*e.statuses, 503, *((401,) if e.auth else ()), *((403,) if e.body is not None else ())}):
                responses[str(status)] = {"description": _REASONS.get(status, "error"),
                                          "content": {"application/json": {"schema": ERROR_SCHEMA}}}
            operation: dict[str, Any] = {
                "summary": e.summary, "tags": [e.tag], "operationId": f"{e.method.lower()}_{_slug(e.path)}",
                "parameters": [{"name": p.name, "in": p.where, "required": p.required if p.where == "query" else True,
                                "schema": p.schema, "description": p.description} for p in e.params],
                "responses": responses,
            }
            if e.body is not None:
                operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": e.body}}}
            if e.auth:
                operation["security"] = [{"bearer": []}]
            paths.setdefault(prefix + e.path, {})[e.method.lower()] = operation
        return {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version,
                     "description": "Bytes are lowercase hex; contract values carry bytes as {\"hex\": ...}. Errors: "
                                    "{\"error\": {\"code\", \"message\", \"field\"}}."},
            "paths": paths,
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        }


_REASONS = {400: "bad request", 401: "missing or invalid credentials", 403: "not permitted", 404: "not found",
            409: "conflict", 503: "no node available", 501: "not supported by the node"}


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")
