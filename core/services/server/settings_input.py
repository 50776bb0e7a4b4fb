"""What an admin types for a server setting, checked and turned into the stored value.

Each parser takes the text of a form field or a command-line argument and returns the
value to store, or raises InvalidInput with a message meant to sit next to the field.
Nothing reaches Postfix's main.cf that did not pass here (and the stack quotes it again).
"""
from __future__ import annotations

import ipaddress
import re

from core.i18n import lazy_gettext as _l
from core.models import InvalidName, normalize_address, normalize_domain
from core.models.server import MAX_MESSAGE_SIZE_MB, MAX_QUEUE_DAYS, SMARTHOST_TLS
from core.services.errors import InvalidInput
from stack.attachments import ARCHIVES, DETECTORS, EXECUTABLES, ZIP_BASED

MAX_NETWORKS = 100
# A network this wide would let much of the internet relay through the server.
WIDEST_PREFIX = 8
SWITCHES = {"on": True, "yes": True, "true": True, "1": True,
            "off": False, "no": False, "false": False, "0": False, "": False}


def _whole(text: str, label: str, low: int, high: int, unit: str) -> int:
    """A whole number from LOW to HIGH."""
    text = text.strip()
    if not re.fullmatch(r"[0-9]{1,6}", text) or not low <= int(text) <= high:
        number = _l('a whole number of %(unit)s', unit=unit) if unit else _l("a whole number")
        raise InvalidInput(_l('%(label)s: enter %(number)s from %(low)s to %(high)s.', label=label, number=number, low=low, high=high))
    return int(text)


def message_size(text: str) -> int:
    """The largest message in MB (at most what Rspamd scans)."""
    return _whole(text, _l("Maximum message size"), 1, MAX_MESSAGE_SIZE_MB, "MB")


def queue_days(text: str) -> int:
    """How many days Postfix keeps retrying a message before it returns it."""
    return _whole(text, _l("Queue lifetime"), 1, MAX_QUEUE_DAYS, "days")


def bcc_address(text: str) -> str:
    """One mail address, or '' for none."""
    return _optional(text, normalize_address,
                     _l("Always-Bcc: “{}” is not one mail address (such as archive@example.com)."))


def helo_name(text: str) -> str:
    """A fully qualified host name (RFC 5321 4.1.1.1), or '' for the server's own name."""
    return _optional(text, normalize_domain,
                     _l("HELO name: “{}” is not a host name such as mail.example.com "
                     "(letters, digits, hyphens and at least one dot)."))


def _optional(text: str, normalize, problem: str) -> str:
    """TEXT normalised, '' for nothing, or InvalidInput with PROBLEM naming what was typed."""
    text = text.strip()
    if not text:
        return ""
    try:
        return normalize(text)
    except InvalidName:
        raise InvalidInput(problem.format(text)) from None


def networks(text: str) -> str:
    """IPv4 addresses or networks separated by commas, blanks or lines; stored one a line."""
    items = [item for item in re.split(r"[\s,]+", text) if item]
    if len(items) > MAX_NETWORKS:
        raise InvalidInput(_l('Relay addresses: at most %(max_networks)s entries.', max_networks=MAX_NETWORKS))
    return "\n".join(dict.fromkeys(_network(item) for item in items))


def _network(item: str) -> str:
    """'192.168.1.20' or '192.168.1.0/24' as Postfix expects it, or InvalidInput."""
    try:
        net = ipaddress.ip_network(item, strict=False)
    except ValueError:
        raise InvalidInput(_l('Relay addresses: “%(item)s” is not an IPv4 address or network (such as 192.168.1.20 or 192.168.1.0/24).', item=item)) from None
    if net.version != 4:
        raise InvalidInput(_l("Relay addresses: “%(item)s” is IPv6; this server's Postfix takes mail over IPv4 only.", item=item))
    if str(net.network_address) != item.split("/")[0] and net.prefixlen != 32:
        raise InvalidInput(_l('Relay addresses: “%(item)s” is not the start of its network; did you mean %(net)s?', item=item, net=net))
    if net.prefixlen < WIDEST_PREFIX:
        raise InvalidInput(_l('Relay addresses: “%(item)s” is wider than /%(widest_prefix)s and would make this server an open relay.', item=item, widest_prefix=WIDEST_PREFIX))
    return str(net.network_address) if net.prefixlen == 32 else str(net)


def switch(text: str) -> bool:
    """on/off (also yes/no, true/false, 1/0; an unticked checkbox sends nothing)."""
    try:
        return SWITCHES[text.strip().lower()]
    except KeyError:
        raise InvalidInput(_l('“%(text)s” is neither on nor off.', text=text)) from None


def smarthost_host(text: str) -> str:
    """A host name or IPv4 address (Postfix here speaks IPv4 only), or '' for no smarthost."""
    text = text.strip().lower().removeprefix("[").removesuffix("]")
    try:
        if ipaddress.ip_address(text).version == 4:
            return text
        raise InvalidInput(_l("Smarthost: “%(text)s” is IPv6; this server's Postfix sends over IPv4 only.", text=text))
    except ValueError:
        pass
    return _optional(text, normalize_domain,
                     _l("Smarthost: “{}” is not a host name or IPv4 address (such as smtp.example.net)."))


def smarthost_port(text: str) -> int:
    """The smarthost's TCP port."""
    return _whole(text, "Port", 1, 65535, "")  # e.g. 587 (STARTTLS), 465 (TLS)


def smarthost_tls(text: str) -> str:
    """none, starttls or ssl (TLS from the first byte)."""
    text = text.strip().lower()
    if text not in SMARTHOST_TLS:
        raise InvalidInput(_l("TLS: choose none, STARTTLS or implicit TLS (starttls or ssl)."))
    return text


def smarthost_username(text: str) -> str:
    """The user name the smarthost signs us in with, or '' for none. Postfix keeps it as
    `user:password` in a lookup table: no blanks, no colon."""
    text = text.strip()
    if len(text) > 255 or re.search(r"[\s:\x00-\x1f\x7f]", text):
        raise InvalidInput(_l("User name: at most 255 characters, without blanks or colons."))
    return text


def attachment_types(text: str) -> str:
    """Detector type names (stack/attachments.py) separated by commas or blanks, stored as
    'pdf,png'; '' for none. An unknown name is refused with the names there are."""
    names = [name for name in re.split(r"[\s,]+", text.strip().lower()) if name]
    unknown = [name for name in names if name not in DETECTORS]
    if unknown:
        names, detectors = ', '.join(f'“{name}”' for name in unknown), ', '.join(sorted(DETECTORS))
        raise InvalidInput(_l('Blocked file types: %(names)s is not a type the detector names; choose '
                              'from %(detectors)s.', names=names, detectors=detectors) if len(unknown) == 1
                           else _l('Blocked file types: %(names)s are not types the detector names; '
                                   'choose from %(detectors)s.', names=names, detectors=detectors))
    return ",".join(dict.fromkeys(names))


def attachment_classes() -> dict[str, list[str]]:
    """The detector's names the Attachments page explains: each class, and every name."""
    return {"executables": list(EXECUTABLES), "zip_based": list(ZIP_BASED),
            "archives": [name for name in ARCHIVES if name not in ZIP_BASED],
            "detectors": sorted(DETECTORS)}


PARSERS = {
    "message_size_mb": message_size, "queue_lifetime_days": queue_days, "always_bcc": bcc_address,
    "helo_name": helo_name, "relay_networks": networks, "relay_trusted_networks": switch,
    "auth_on_port_25": switch, "smarthost_host": smarthost_host, "smarthost_port": smarthost_port,
    "smarthost_tls": smarthost_tls, "smarthost_username": smarthost_username,
    "deleted_to_trash": switch, "allow_unencrypted": switch, "antivirus": switch,
    "master_user": switch,
    # Attachment blocking (Rspamd)
    "block_executables": switch, "block_archives": switch, "block_types": attachment_types,
}
