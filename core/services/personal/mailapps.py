"""Setting up a mail app: the public host name, ports and security of the mail server.

The portal's "Set up a mail app" page, Thunderbird's autoconfig, Outlook's autodiscover
and the iPhone profile all take their servers from servers(), so they never disagree.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from urllib.parse import quote

from core.mail.carddav import BOOK
from core.mail.clientconfig import SSL, STARTTLS, Server
from core.models import DELIVER, Domain
from core.services.directory.lookup import get_mailbox, valid_address
from core.services.errors import NotFound

# (protocol, port's config key, security) as the stack sets its daemons up: Dovecot and
# Postfix refuse to take a password before TLS on the plain ports. TLS from the first
# byte comes first, as RFC 8314 section 3 prefers it; mail programs take the first they
# can use.
PORTS = (
    ("imap", "IMAPS_PORT", SSL), ("imap", "IMAP_PORT", STARTTLS),
    ("pop3", "POP3S_PORT", SSL), ("pop3", "POP3_PORT", STARTTLS),
    ("smtp", "SMTPS_PORT", SSL), ("smtp", "SUBMISSION_PORT", STARTTLS),
    ("sieve", "SIEVE_PORT", STARTTLS),
)


def servers(cfg: dict) -> list[Server]:
    """Every port mail programs use, on MAIL_HOSTNAME; a port set to 0 is not offered.

    >>> servers({"MAIL_HOSTNAME": "mail.example.org", "IMAPS_PORT": 993, "IMAP_PORT": 0,
    ...          "POP3S_PORT": 0, "POP3_PORT": 0, "SMTPS_PORT": 0, "SUBMISSION_PORT": 0,
    ...          "SIEVE_PORT": 0})
    [Server(protocol='imap', host='mail.example.org', port=993, security='SSL')]
    """
    return [Server(protocol, cfg["MAIL_HOSTNAME"], int(cfg[key]), security)
            for protocol, key, security in PORTS if int(cfg[key])]


def carddav_urls(cfg: dict, address: str) -> tuple[str, str]:
    """The address book server's URL (phones find the book there) and the book's own
    (Thunderbird asks for it), e.g. ('http://127.0.0.1:15232/', 'http://…/a@x/contacts/')."""
    server = cfg.get("CARDDAV_URL") or f"http://{cfg['CARDDAV_HOST']}:{cfg['CARDDAV_PORT']}/"
    server = server if server.endswith("/") else server + "/"
    return server, f"{server}{quote(address, safe='@')}/{BOOK}/"


def served(db: Session, address: str) -> tuple[str, Domain]:
    """ADDRESS normalised, and its domain when its mail is delivered here; NotFound otherwise.

    Whether ADDRESS itself is a mailbox is never looked at: the answer for
    anyone@example.org is the answer for every address of example.org.
    InvalidInput when ADDRESS is not an address.
    """
    address = valid_address(address)
    name = address.rpartition("@")[2]
    domain = db.scalar(select(Domain).where(Domain.name == name, Domain.mode == DELIVER))
    if domain is None:
        raise NotFound(f"Mail for {name} is not delivered here.")
    return address, domain


def display_name(db: Session, address: str) -> str:
    """The name the person's mailbox carries, or the address when it has none."""
    return get_mailbox(db, address).display_name or address
