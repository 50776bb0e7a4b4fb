"""Whether a message really comes from its From domain, by our own Authentication-Results.

Rspamd adds one Authentication-Results field (RFC 8601) to every message our Postfix
receives, and Postfix drops any that came with the message (stack/templates/postfix/
header_checks), so a field naming one of our authserv-ids is ours. Its authserv-id is
Postfix's milter daemon name: the host name for mail from other servers, ORIGINATING for
mail our users submit (master.cf).

A result vouches for the From domain when it passes and its domain is aligned with it
(DMARC's relaxed alignment, approximated without a public suffix list: the same domain,
or one a subdomain of the other, never a bare top-level domain).
"""
from __future__ import annotations

import authres

SUBMITTED_ID = "ORIGINATING"
# method -> (property type, property name) naming the domain the result is about
VOUCHERS = {
    "dmarc": ("header", "from"),
    "dkim": ("header", "d"),
    "spf": ("smtp", "mailfrom"),
    "auth": ("smtp", "mailfrom"),  # a signed-in user; Postfix checks the sender login
}
LABELS = {"dmarc": "DMARC", "dkim": "DKIM", "spf": "SPF", "auth": "a signed-in sender"}


def verified_by(headers: list[tuple[str, str]], hostname: str, sender: str) -> str:
    """What proves SENDER (a normalised address) wrote the message, e.g. "DKIM"; "" if nothing."""
    ours = {hostname.lower(), SUBMITTED_ID.lower()}
    field = next((value for name, value in headers
                  if name.lower() == "authentication-results" and _authserv_id(value) in ours),
                 None)
    if field is None or "@" not in sender:
        return ""
    try:
        results = authres.AuthenticationResultsHeader.parse_value(field).results
    except authres.AuthResError:
        return ""
    sender_domain = sender.rpartition("@")[2]
    for result in results:
        wanted = VOUCHERS.get(result.method)
        if wanted is None or result.result != "pass":
            continue
        for prop in result.properties:
            if (prop.type, prop.name) == wanted and _aligned(prop.value, sender_domain):
                return LABELS[result.method]
    return ""


def _authserv_id(value: str) -> str:
    return value.split(";", 1)[0].strip().split(None, 1)[0].lower() if value.strip() else ""


def _aligned(value: str, domain: str) -> bool:
    other = value.rpartition("@")[2].strip().strip('"').rstrip(".").lower()
    try:
        other = other.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return "." in other and (other == domain or other.endswith("." + domain)
                            or domain.endswith("." + other))
