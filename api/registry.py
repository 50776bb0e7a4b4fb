"""Where every API operation is declared once: its route, the scope it needs, and what
the OpenAPI document says of it (api/docs.py builds the document from OPERATIONS and
SCHEMAS, the objects the answers carry, declared beside the functions that shape them)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .auth import requires
from .blueprint import bp


@dataclass(frozen=True)
class Operation:
    """One method on one path of the API."""

    method: str
    rule: str  # Flask's, such as /aliases/<int:alias_id>
    endpoint: str
    family: str  # 'admin' or 'personal': the scope it needs
    summary: str
    body: dict = field(default_factory=dict)  # JSON Schema properties of the request body
    required: tuple[str, ...] = ()
    query: tuple[str, ...] = ()  # query parameters (strings)
    who: str = ""  # which roles may use it, as the admin pages decide
    answer: str = ""  # the schema of the object it answers with ('' for none or free-form)
    many: str = ""  # 'paged': a page of ANSWER objects; 'all': every one

    @property
    def path(self) -> str:
        """The OpenAPI form of the path: /aliases/{alias_id}."""
        return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.rule)

    @property
    def write(self) -> bool:
        """Whether it changes something (and needs the scope without ':read')."""
        return self.method != "GET"


OPERATIONS: list[Operation] = []
SCHEMAS: dict[str, dict] = {}


def schema(name: str, properties: dict) -> dict:
    """Declare NAME, a JSON object answers carry with every one of PROPERTIES; return them."""
    SCHEMAS[name] = {"type": "object", "properties": properties, "required": sorted(properties)}
    return properties


def operation(method: str, rule: str, family: str, summary: str, *, body: dict | None = None,
              required: tuple[str, ...] = (), query: tuple[str, ...] = (), who: str = "",
              answer: str = "", many: str = ""):
    """Declare and route the view below it: METHOD RULE, needing scope FAMILY.

    The scope is checked first; the admin area's decorators under this one then decide
    by the owner's roles, as on the pages.
    """
    def decorator(view):
        spec = Operation(method, rule, view.__name__, family, summary, body or {}, required,
                         query, who, answer, many)
        OPERATIONS.append(spec)
        bp.add_url_rule(rule, view.__name__, requires(family, spec.write)(view), methods=[method])
        return view
    return decorator
