"""One escaping function for every value written into a daemon's configuration.

Templates under stack/templates/ contain placeholders ``{{name}}`` or
``{{name:syntax}}``; :func:`render_text` replaces each one with
``quote(value, syntax)``, so no value reaches a config file any other way.
"""
from __future__ import annotations

import ipaddress
import re

from .errors import StackError

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)(?::([a-z_]+))?\s*\}\}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
BARE = re.compile(r"^[A-Za-z0-9._/:@+=,-]+$")
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){LABEL}(\.{LABEL})*$")


def _text(value: object, syntax: str) -> str:
    """VALUE as one line of text, or a StackError naming the syntax it was meant for."""
    text = str(value)
    if CONTROL.search(text):
        raise StackError(f"refusing to write a control character into a {syntax} value: {text!r}")
    return text


def _bare(text: str, syntax: str) -> str:
    """TEXT unchanged if it needs no quoting in any of our formats (paths, ports, names)."""
    if not BARE.match(text):
        raise StackError(f"{text!r} cannot be written as a bare {syntax} value")
    return text


def _sql(text: str) -> str:
    """An SQL string literal: single quotes doubled (SQL-92, SQLite)."""
    return "'" + text.replace("'", "''") + "'"


def _int(text: str) -> str:
    """A whole number, e.g. a port or a size."""
    if not re.fullmatch(r"-?[0-9]+", text):
        raise StackError(f"expected a whole number, got {text!r}")
    return text


def _hostname(text: str) -> str:
    """A DNS host name (letters, digits, hyphens, dots)."""
    if not HOSTNAME.match(text):
        raise StackError(f"{text!r} is not a valid host name (MAILROOM_MAIL_HOSTNAME)")
    return text


def _networks(text: str) -> str:
    """IPv4 addresses or networks (CIDR, no host bits) separated by spaces (Postfix's mynetworks)."""
    for item in text.split(" "):
        try:
            ipaddress.IPv4Network(item)
        except ValueError:
            raise StackError(f"{item!r} is not an IPv4 address or network") from None
    return text


def domain_name(text: str) -> str:
    """TEXT if it is a domain name (a UCL key, part of a file name); StackError otherwise."""
    if not HOSTNAME.match(text):
        raise StackError(f"{text!r} is not a domain name")
    return text


def _postfix(text: str) -> str:
    """A main.cf/master.cf value: `$` doubled (Postfix expands $name), no edge blanks."""
    if text != text.strip():
        raise StackError(f"a Postfix value cannot start or end with blanks: {text!r}")
    return text.replace("$", "$$")


def _table(text: str) -> str:
    """One line of a Postfix lookup table source (postmap(5)), or nothing: a line that
    starts with a blank would continue the line before, edge blanks are dropped."""
    if text != text.strip():
        raise StackError("a Postfix table line cannot start or end with blanks")
    return text


def _double_quoted(text: str) -> str:
    """A double-quoted string where a backslash escapes (redis.conf's sdssplitargs,
    slapd.conf's argument parser)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ldif(text: str) -> str:
    """An LDIF SAFE-STRING value (RFC 2849): ASCII, not starting with a space, : or <."""
    if not text.isascii() or text[:1] in (" ", ":", "<") or text != text.rstrip():
        raise StackError(f"{text!r} cannot be written as a plain LDIF value")
    return text


def _line(text: str) -> str:
    """The rest of a `key = value` line (Dovecot's and Postfix's LDAP settings files),
    taken as it is: no edge blanks, which either would drop."""
    if text != text.strip():
        raise StackError(f"a settings line cannot start or end with blanks: {text!r}")
    return text


SYNTAXES = {
    # Dovecot: double-quoted, backslash escapes; `$` would name another setting and
    # `%` a variable, so neither is accepted in a quoted value.
    "dovecot": lambda t: '"' + _reject(t, "$%", "dovecot").replace("\\", "\\\\").replace('"', '\\"') + '"',
    "bare": lambda t: _bare(t, "bare"),
    "int": _int,
    "hostname": _hostname,
    "networks": _networks,
    "sql": _sql,
    # An SQL literal inside a query that Dovecot or Postfix %-expands: `%` doubled.
    "sql_expand": lambda t: _sql(t).replace("%", "%%"),
    "postfix": _postfix,
    "table": _table,
    # UCL (Rspamd): single-quoted, where UCL expands no $VARIABLES (in double quotes it
    # does, and collapses `$$` only when the string also holds a variable). The only
    # escape there is \'; any other backslash stays literal, so none is accepted.
    "ucl": lambda t: "'" + _reject(t, "\\", "ucl").replace("'", "\\'") + "'",
    # A UCL key naming a domain (dkim_signing's `domain` section): UCL takes no single-quoted
    # keys, so double quotes, around host-name characters only (nothing to expand or escape).
    "ucl_key": lambda t: '"' + domain_name(t) + '"',
    # A Lua string literal (Rspamd's local.d/rspamd.lua): double-quoted, where only a
    # backslash escapes; control characters (a newline ends the literal) never get here.
    "lua": lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"',
    "redis": _double_quoted,
    "slapd": _double_quoted,
    "ldif": _ldif,
    "line": _line,
}


def _reject(text: str, chars: str, syntax: str) -> str:
    """TEXT, unless it contains one of CHARS, which SYNTAX would interpret."""
    bad = sorted(set(chars) & set(text))
    if bad:
        raise StackError(f"refusing to write {''.join(bad)!r} into a {syntax} value: {text!r}")
    return text


def quote(value: object, syntax: str) -> str:
    """Return VALUE written for SYNTAX (see SYNTAXES), or raise StackError.

    >>> quote("it's", "sql")
    "'it''s'"
    """
    try:
        handler = SYNTAXES[syntax]
    except KeyError:
        raise StackError(f"unknown config syntax {syntax!r}") from None
    return handler(_text(value, syntax))


def render_text(template: str, values: dict, default_syntax: str) -> str:
    """Fill TEMPLATE's placeholders with quoted VALUES; an unknown name is an error."""

    def fill(match: re.Match) -> str:
        """The quoted value for one placeholder."""
        name, syntax = match.group(1), match.group(2) or default_syntax
        if name not in values:
            raise StackError(f"template placeholder {{{{{name}}}}} has no value")
        return quote(values[name], syntax)

    return PLACEHOLDER.sub(fill, template)
