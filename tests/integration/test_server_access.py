"""Admin → Server → SMTP access: strict by default, exceptions an admin sets, each proved
with real SMTP from other loopback addresses (127.0.0.1 alone is the local network)."""
from __future__ import annotations

import json
import logging
import smtplib
import subprocess
import time

import pytest

from stack.postfix_settings import machine_networks
from tests.helpers import PASSWORD, message, new_address, wait_for_subject
from tests.integration.admin_support import unique, wait_until
from tests.integration.test_stack import tls_context

from .server_support import (  # noqa: F401  (admin, defaults: fixtures)
    DEVICE, IN_NETWORK, LISTED, NETWORK, UNLISTED, admin, defaults, obeyed, relay_allowed,
    relay_answer, relay_domain, save, smtp,
)

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)

log = logging.getLogger(__name__)
ACCESS_OFF = {"relay_networks": "", "relay_trusted_networks": "", "auth_on_port_25": ""}


def test_relay_from_listed_addresses_only(admin, mail_stack, stack_db, domain):
    code, text = relay_answer(mail_stack, LISTED)
    assert (code, text[:5]) == (554, b"5.7.1"), text  # strict by default
    began = time.monotonic()
    save(admin, "access", **{**ACCESS_OFF, "relay_networks": f"{LISTED}\n{NETWORK}"})
    log.info("relay addresses: saved and obeyed after %.2f s",
             obeyed(lambda: relay_allowed(mail_stack, LISTED), began))
    assert relay_allowed(mail_stack, IN_NETWORK)
    code, text = relay_answer(mail_stack, UNLISTED)
    assert code == 554 and text.startswith(b"5.7.1") and b"Relay access denied" in text, text
    # Listed devices are the local network now: a real message to a local-only alias.
    staff, alias = new_address(stack_db, domain, "staff", spam_to_junk=False), f"{unique('team')}@{domain}"
    assert admin.post("/admin/aliases/new", {"address": alias, "mailboxes": staff,
                                              "local_only": "on"}).status_code == 302
    subject = unique("printer")
    with smtp(mail_stack, LISTED) as conn:
        conn.send_message(message("scanner@office.test", alias, subject))
    wait_for_subject(mail_stack, staff, subject)
    with smtp(mail_stack, UNLISTED) as conn, pytest.raises(smtplib.SMTPRecipientsRefused):
        conn.send_message(message("scanner@office.test", alias, unique("outside")))
    save(admin, "access", **ACCESS_OFF)
    assert not relay_allowed(mail_stack, LISTED)


def outside_address() -> str | None:
    """This machine's own IPv4 address on a network that is not loopback, if it has one."""
    shown = json.loads(subprocess.run(["ip", "-json", "-4", "address", "show"], capture_output=True,
                                      text=True, check=True, timeout=30).stdout)
    return next((a["local"] for link in shown for a in link.get("addr_info", [])
                 if not a["local"].startswith("127.")), None)


def test_relay_from_trusted_networks_means_this_machines_subnets(admin, mail_stack):
    source = outside_address()
    if source is None:
        pytest.skip("this machine has no network besides loopback")
    assert any(net != "127.0.0.0/8" for net in machine_networks())
    assert not relay_allowed(mail_stack, source)
    save(admin, "access", **{**ACCESS_OFF, "relay_trusted_networks": "on"})
    assert relay_allowed(mail_stack, source)
    save(admin, "access", **ACCESS_OFF)
    assert not relay_allowed(mail_stack, source)


def auth_offered(cfg: dict, starttls: bool) -> bool:
    """Whether port 25 offers AUTH to a client outside the local network."""
    with smtp(cfg, DEVICE) as conn:
        conn.ehlo()
        if starttls:
            conn.starttls(context=tls_context(cfg))
            conn.ehlo()
        return conn.has_extn("auth")


def test_authentication_on_port_25_only_after_starttls(admin, mail_stack, stack_db, domain):
    assert not auth_offered(mail_stack, starttls=True)
    device = new_address(stack_db, domain, "copier")
    began = time.monotonic()
    save(admin, "access", **{**ACCESS_OFF, "auth_on_port_25": "on"})
    log.info("AUTH on port 25: saved and offered after %.2f s",
             obeyed(lambda: auth_offered(mail_stack, starttls=True), began))
    assert not auth_offered(mail_stack, starttls=False)
    with relay_domain(admin) as (far, sink):
        subject = unique("copier")
        with smtp(mail_stack, DEVICE) as conn:
            conn.starttls(context=tls_context(mail_stack))
            conn.login(device, PASSWORD)
            conn.send_message(message(device, f"boss@{far}", subject))
            with pytest.raises(smtplib.SMTPRecipientsRefused):  # only as its own address
                conn.send_message(message(f"ceo@{domain}", f"boss@{far}", unique("spoof")))
        assert wait_until(lambda: sink.with_subject(subject), 30)
    save(admin, "access", **ACCESS_OFF)
    assert wait_until(lambda: not auth_offered(mail_stack, starttls=True), 20, 0.05)
