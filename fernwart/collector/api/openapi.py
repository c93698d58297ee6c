"""The API's OpenAPI document, told truthfully: who may call, what each operation can answer, what it takes.

FastAPI derives paths, parameters and bodies from the handlers; this adds what it cannot see:

- `securitySchemes`: technicians' and customer accounts' API tokens (``fwu_``), agent tokens (``fwa_``)
  and the optional metrics token, each a bearer token, and which operation needs which;
- every status an operation can answer besides its success, each with the `Error` body:
  401 and 429 where credentials are checked, 403 where a role or another host's token is refused, 404
  where a customer, host or ticket is named, 409 where an action may not fit the state, 413 and 422 where
  a body or parameters are read, 503 when the database cannot be reached;
- the bodies of routes that parse their body after authentication (`inputs.request_body`);
- `/metrics` as Prometheus text, the monthly report in each of its formats.

The document is built once per application and cached, as FastAPI does.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from fernwart.collector.api.inputs import add_body_schemas

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "what was refused and why, naming the field"},
        "problems": {"type": "array", "items": {"type": "string"}, "description": "one line per problem"},
        "code": {"type": "string", "description": "a refusal the agent acts on: instance_conflict (409), "
                 "another agent instance holds the host"},
    },
}
SECURITY_SCHEMES: dict[str, Any] = {
    "apiToken": {
        "type": "http", "scheme": "bearer",
        "description": "a technician's or customer account's API token (fwu_...), from "
        "`fernwart-collector user add`",
    },
    "agentToken": {
        "type": "http", "scheme": "bearer",
        "description": "an agent's own token (fwa_...), issued at enrollment",
    },
    "metricsToken": {
        "type": "http", "scheme": "bearer",
        "description": "FERNWART_METRICS_TOKEN; loopback peers need none, nor does anyone when"
        " FERNWART_METRICS_PUBLIC is set",
    },
}
REASONS = {
    "401": "missing, unknown or revoked credentials",
    "403": "the credentials are known but may not do this",
    "404": "no such customer, host or ticket, or none the caller may see",
    "409": "the action does not fit the object's current state",
    "413": "the body is larger than the collector's limit",
    "422": "invalid input; `error` names the field",
    "429": "too many failed credential checks from this address; see Retry-After",
    "503": "the database cannot be reached; retry later (Retry-After)",
}
REPORT_TYPES = ("application/json", "text/html", "application/pdf", "application/zip")


DOCS_ASSETS = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs from the `swagger-ui-bundle` package (FastAPI's default loads it from a
    CDN, so /docs stayed blank offline); `app` is made with docs_url=None and redoc_url=None."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )


def install(app: FastAPI) -> None:
    """Make `app.openapi` answer the completed document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = complete(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Return `document` with security, every status and the self-parsed bodies added (see module docs)."""
    add_body_schemas(document)
    components = document.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            _complete_operation(path, method, operation)
    return document


def _security(path: str, method: str) -> list[dict[str, list[str]]] | None:
    """Return the operation's security requirement; None for operations open to anyone."""
    if path == "/metrics":
        return [{}, {"metricsToken": []}]
    if (path == "/api/v1/reports" and method == "post") or path.startswith("/api/v1/agent/"):
        return [{"agentToken": []}]
    if path.startswith("/api/v1/") and path != "/api/v1/enroll":
        return [{"apiToken": []}]
    return None


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    security = _security(path, method)
    params = operation.get("parameters", [])
    has_body = "requestBody" in operation
    statuses = ["503"]
    if path == "/metrics":
        return ["401", "403"]
    if path == "/healthz":
        return []
    if security is not None or path == "/api/v1/enroll":
        statuses += ["401", "429"]
    if security is not None:
        statuses.append("403")
        if path != "/api/v1/reports":
            statuses.append("404")
        if method in ("post", "put"):
            statuses.append("409")
    if has_body:
        statuses += ["413", "422"]
    elif params:
        statuses.append("422")
    return sorted(set(statuses))


def _error(status: str) -> dict[str, Any]:
    return {
        "description": REASONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _complete_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    security = _security(path, method)
    operation["security"] = security if security is not None else []
    responses = operation.setdefault("responses", {})
    for status in _statuses(path, method, operation):
        responses[status] = _error(status)
    if path == "/metrics":
        responses["200"] = {
            "description": "Prometheus text exposition format 0.0.4",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    elif path == "/healthz":
        responses["503"] = {
            "description": "the database cannot be reached",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    elif path == "/api/v1/reports/monthly" and method == "get":
        responses["200"] = {
            "description": "the report in the asked format (json, html, pdf, csv as a zip of tables)",
            "content": {kind: {"schema": {"type": "object" if kind == "application/json" else "string"}}
                        for kind in REPORT_TYPES},
        }
    # FastAPI's generated 422 describes its own error shape; ours is `Error`.
    if "422" in responses:
        responses["422"] = _error("422")
