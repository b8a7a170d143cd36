"""The OpenAPI document as the contract partners integrate against: who may call each route
(from the access matrix), every problem+json answer a route can give with its stable codes, and
the constraints the server enforces beyond what the route signatures say."""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.access import MATRIX, PARTNER, Matrix, Rule
from api.errors import HTTP_CODES, STATUS_FOR_KIND
from cityid.errors import AppError
from enrollment import corrections as enrollment_corrections
from enrollment import service as enrollment_service
from idcard.lifecycle import ACTIONS, Action, lifecycle

STAFF_TOKEN, PARTNER_KEY, METRICS_TOKEN = "staffToken", "partnerKey", "metricsToken"
HOLDER_SESSION = "holderSession"
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    STAFF_TOKEN: {"type": "http", "scheme": "bearer", "bearerFormat": "cst_…",
                  "description": "A staff member's token from POST /v1/auth/token "
                                 "(`Authorization: Bearer cst_…`)."},
    PARTNER_KEY: {"type": "http", "scheme": "bearer", "bearerFormat": "cpk_…",
                  "description": "A partner's API key, made by an admin at "
                                 "POST /v1/partners/{partner_id}/keys "
                                 "(`Authorization: Bearer cpk_…`)."},
    HOLDER_SESSION: {"type": "http", "scheme": "bearer", "bearerFormat": "chs_…",
                     "description": "A cardholder's session from POST /v1/holder/sessions, "
                                    "opened with a one-time code sent to the contact on file."},
    METRICS_TOKEN: {"type": "http", "scheme": "bearer",
                    "description": "The monitoring scraper's token, CITYID_METRICS_TOKEN; with "
                                   "none set, /metrics answers 404."},
}

# Codes the HTTP layer answers itself, not raised as an AppError by the domain.
HTTP_LAYER_CODES: dict[int, set[str]] = {
    400: {"malformed_json"},
    422: {"unknown_field", "validation_failed"},
}

RETRY_AFTER = {"description": "Seconds to wait before trying again.",
               "schema": {"type": "integer", "minimum": 0}}

# Parameters the service checks itself (so its refusal keeps its own code) but that a client
# must know about: declared here, in the document, with the rule the service applies.
CHECKED_PARAMETERS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("post", "/v1/redemptions", "idempotency-key"): {
        "required": True,
        "description": "Your own unique key for this redemption: a retry with the same key "
                       "and body gives the same receipt; the same key with another body is "
                       "refused (409 idempotency_conflict). Missing or malformed: 422 "
                       "idempotency_key_required.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,128}$",
                   "minLength": 8, "maxLength": 128},
    },
}


def _card_reasons(action: Action) -> list[str]:
    return sorted(lifecycle().reasons(action))


def _decision_reasons() -> list[str]:
    codes = enrollment_service.reason_codes()
    return sorted(codes["approve"] | codes["override"] | codes["deny"]
                  | codes["request_documents"])


# Reason codes come from data a city can change (enrollment/reasons.yaml, idcard/lifecycle.yaml):
# the document lists the ones in force, per route, as enums.
REASON_FIELDS: dict[tuple[str, str], tuple[str, Callable[[], list[str]]]] = {
    **{("post", f"/v1/cards/{{card_id}}/{action}"): ("reason", partial(_card_reasons, action))
       for action in ACTIONS},
    ("post", "/v1/applications/{reference}/decision"): ("reason", _decision_reasons),
    ("post", "/v1/applications/{reference}/documents/{document_id}/withdraw"): (
        "reason", lambda: sorted(enrollment_corrections.withdraw_reasons())),
    ("post", "/v1/duplicates/{flag_id}/resolve"): (
        "resolution", lambda: sorted(enrollment_service.reason_codes()["duplicate_resolution"])),
}


def _list_reasons(document: dict[str, Any], method: str, path: str,
                  operation: dict[str, Any]) -> None:
    found = REASON_FIELDS.get((method, path))
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if found is None or content is None:
        return
    name, codes = found
    ref = content["schema"].get("$ref", "")
    body = copy.deepcopy(document["components"]["schemas"][ref.rsplit("/", 1)[-1]])
    field = body["properties"][name]
    for constraint in ("pattern", "minLength", "maxLength"):
        field.pop(constraint, None)
    field["enum"] = codes()
    content["schema"] = body


def _error_classes() -> list[type[AppError]]:
    found: list[type[AppError]] = []
    todo: list[type[AppError]] = [AppError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def problem_codes() -> dict[int, list[str]]:
    """Every stable code, by the status it is answered with."""
    codes: dict[int, set[str]] = {s: set(c) for s, c in HTTP_LAYER_CODES.items()}
    for cls in _error_classes():
        codes.setdefault(STATUS_FOR_KIND[cls.kind], set()).add(cls.code)
    for status, (code, _title) in HTTP_CODES.items():
        codes.setdefault(status, set()).add(code)
    return {status: sorted(found) for status, found in sorted(codes.items())}


def _problem_schema(status: int, codes: list[str]) -> dict[str, Any]:
    return {
        "type": "object", "title": f"Problem{status}",
        "description": "RFC 9457 problem details; `code` is stable, the texts may change.",
        "required": ["type", "title", "status", "code", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "enum": [status]},
            "code": {"type": "string", "enum": codes},
            "detail": {"type": "string"},
            "errors": {"type": "array", "items": {
                "type": "object", "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"}, "type": {"type": "string"}}}},
        },
    }


DESCRIPTIONS = {400: "The body is not valid JSON", 401: "Sign-in or a valid key is needed",
                403: "The caller's role or policy does not allow this", 404: "Not found",
                409: "Conflicts with the current state", 410: "No longer available",
                413: "The body is too large",
                422: "Not valid: the fields, or a rule of the program",
                429: "Too many requests", 503: "Not available just now; try again"}


def _statuses(method: str, path: str, operation: dict[str, Any], rule: Rule) -> set[int]:
    has_body = "requestBody" in operation
    params = operation.get("parameters", [])
    statuses = {503}
    if not rule.public:
        statuses |= {401, 403}
    if rule.holder or path == "/v1/holder/history":
        statuses.add(401)  # no holder session, or an expired one
    if rule.scraper:
        statuses.add(404)  # no CITYID_METRICS_TOKEN set: the route is not there
    if PARTNER in rule.roles or (rule.public and method != "get"):
        statuses.add(429)  # rate-limited: partner keys, sign-in, status checks, holder history
    if has_body:
        statuses |= {400, 413, 422}
    if params:
        statuses.add(422)
    if any(p.get("in") == "path" for p in params) or has_body:
        statuses.add(404)  # the resource named in the path or the body
    if method in {"post", "put", "patch"} and not rule.public:
        statuses |= {409, 410}
    if rule.public and has_body:
        statuses |= {404, 409}
    return statuses


def _security(rule: Rule) -> list[dict[str, list[str]]]:
    if rule.holder:
        return [{HOLDER_SESSION: []}]
    if rule.public:
        return []
    schemes: list[dict[str, list[str]]] = []
    if rule.scraper:
        schemes.append({METRICS_TOKEN: []})
    if rule.roles - {PARTNER}:
        schemes.append({STAFF_TOKEN: []})
    if PARTNER in rule.roles:
        schemes.append({PARTNER_KEY: []})
    return schemes


def _fastapi_document(app: FastAPI) -> dict[str, Any]:
    return get_openapi(title=app.title, version=app.version, summary=app.summary,
                       description=app.description, routes=app.routes)


def all_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every route, API and web page, as (METHOD, path) with router prefixes applied."""
    return {(method.upper(), path) for path, item in _fastapi_document(app)["paths"].items()
            for method in item}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = _fastapi_document(app)
    access: Matrix = app.state.access
    # The web pages are for people in a browser; the contract is the JSON API.
    document["paths"] = {path: item for path, item in document["paths"].items()
                         if any((m.upper(), path) in MATRIX for m in item)}
    components = document.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    codes = problem_codes()
    schemas = components.setdefault("schemas", {})
    for status, status_codes in codes.items():
        schemas[f"Problem{status}"] = _problem_schema(status, status_codes)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            rule = access.get((method.upper(), path))
            if rule is None:  # check_access_matrix refuses such an app; say nothing here
                continue
            operation["security"] = _security(rule)
            _list_reasons(document, method, path, operation)
            _declare_parameters(method, path, operation)
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's HTTPValidationError is not what we answer
            for status in sorted(_statuses(method, path, operation, rule)):
                responses[str(status)] = _problem_response(status)
    app.openapi_schema = document
    return document


def _declare_parameters(method: str, path: str, operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        declared = CHECKED_PARAMETERS.get((method, path, parameter["name"].lower()))
        if declared is not None:
            parameter.update(declared)


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS.get(status, "A problem"),
        "content": {"application/problem+json": {
            "schema": {"$ref": f"#/components/schemas/Problem{status}"}}},
    }
    if status == 503:
        response["headers"] = {"Retry-After": {**RETRY_AFTER, "required": True}}
    elif status == 429:
        response["headers"] = {"Retry-After": RETRY_AFTER}
    elif status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return response
