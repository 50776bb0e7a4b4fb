"""The OpenAPI 3.1 document of /api/v1, built from the declared operations, and a plain
page listing them (no scripts: the CSP allows none from elsewhere)."""
from __future__ import annotations

import re

from flask import jsonify, render_template, url_for

from .blueprint import bp
from .registry import OPERATIONS, SCHEMAS, Operation

ERROR = {"$ref": "#/components/schemas/Error"}
SUCCESS = {"POST": "201", "DELETE": "204"}  # every other method answers 200
ANSWERS = {"401": "No token, or one that is mistyped, revoked or expired",
           "403": "The token's scope or its owner's role does not allow this",
           "404": "No such object", "422": "Refused: the message says why, field names the input",
           "429": "Too many failed tokens from this address", "503": "A mail daemon does not answer"}


def _parameters(op: Operation) -> list[dict]:
    path = [{"name": name, "in": "path", "required": True,
             "schema": {"type": "integer" if kind == "int" else "string"}}
            for kind, name in re.findall(r"<(?:([a-z]+):)?([a-z_]+)>", op.rule)]
    return path + [{"name": name, "in": "query", "schema": {"type": "string"}} for name in op.query]


def _answer(op: Operation) -> dict:
    """The success answer's description, with its JSON schema when it has one."""
    done = {"description": "Done"}
    if not op.answer:
        return done
    item = {"$ref": f"#/components/schemas/{op.answer}"}
    if op.many:
        paging = {name: {"type": "integer"} for name in ("page", "pages", "per_page", "total")}
        item = {"type": "object", "properties": {"items": {"type": "array", "items": item},
                                                 **(paging if op.many == "paged" else {})}}
    return {**done, "content": {"application/json": {"schema": item}}}


def _operation(op: Operation) -> dict:
    scope = op.family if op.write else f"{op.family}:read"
    spec = {"operationId": op.endpoint, "summary": op.summary, "tags": [op.family],
            "description": f"Who: {op.who}. Scope: {scope}" + ("" if op.write else f" or {op.family}") + ".",
            "security": [{"bearer": []}], "parameters": _parameters(op),
            "responses": {SUCCESS.get(op.method, "200"): _answer(op),
                          **{code: {"description": text, "content": {"application/json": {"schema": ERROR}}}
                             for code, text in ANSWERS.items()}}}
    if op.body:
        spec["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": op.body, "required": list(op.required)}}}}
    return spec


def document() -> dict:
    """The OpenAPI document of every declared operation."""
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mailroom API", "version": "1",
                 "description": "Tokens: Settings → API tokens. Scopes: personal, personal:read, "
                                "admin, admin:read; a token never has more rights than its owner."},
        "servers": [{"url": url_for("api.docs", _external=False).rsplit("/", 1)[0]}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {**SCHEMAS, "Error": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "string"}, "field": {"type": ["string", "null"]}}}},
        },
    }


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document (public: it describes, it does nothing)."""
    return jsonify(document())


@bp.route("/")
def docs():
    """Every operation on one page: method, path, scope, who may use it, the body's fields."""
    return render_template("api/docs.html", operations=OPERATIONS)
