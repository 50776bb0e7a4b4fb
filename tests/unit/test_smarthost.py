"""The smarthost's password: sealed by the helper's root-only key, opened only for the host
and port it was sealed for, and written as one line of Postfix's password table."""
from __future__ import annotations

import stat
from types import SimpleNamespace

import pytest

from core.models.server import ServerSettings
from core.services.server import settings_input
from core.services.errors import InvalidInput
from stack import secretfiles, smarthost
from stack.errors import StackError
from stack.layout import Layout
from stack.quoting import quote

CFG = {"LISTEN_ADDRESS": "127.0.0.1"}


@pytest.fixture
def layout(tmp_path) -> Layout:
    return Layout(root=tmp_path / "stack", data_dir=tmp_path, database=tmp_path / "db.sqlite")


def stored(**values) -> SimpleNamespace:
    row = ServerSettings.defaults(25)
    return SimpleNamespace(**{**row.values(), **values})


def test_sealed_password_opens_only_for_its_host_and_port(layout):
    sealed = smarthost.seal(layout, "smtp.example.net", 587, "pa ss:$1").encode()
    assert b"pa ss" not in sealed
    key = layout.secrets / secretfiles.SEALING_KEY
    assert (key.stat().st_uid, stat.S_IMODE(key.stat().st_mode)) == (0, 0o600)
    assert smarthost.unseal(layout, sealed, "smtp.example.net", 587) == "pa ss:$1"
    assert smarthost.unseal(layout, sealed, "evil.example.net", 587) is None
    assert smarthost.unseal(layout, sealed, "smtp.example.net", 2525) is None
    assert smarthost.unseal(layout, b"not sealed", "smtp.example.net", 587) is None
    key.unlink()  # a backup restored without its secrets: nothing to open it with
    assert smarthost.unseal(layout, sealed, "smtp.example.net", 587) is None


def test_postfix_values_for_each_tls_mode_and_the_password_line(layout):
    sealed = smarthost.seal(layout, "10.0.0.5", 465, "secret").encode()
    values = smarthost.template_values(CFG, layout, stored(
        smarthost_host="10.0.0.5", smarthost_port=465, smarthost_tls="ssl",
        smarthost_username="ann@example.net"), sealed)
    assert values["relayhost"] == "[10.0.0.5]:465" and values["outbound_transport"] == "smarthost"
    assert (values["smarthost_tls_level"], values["smarthost_tls_wrapper"]) == ("encrypt", "yes")
    assert values["smarthost_sign_in"] == "[10.0.0.5]:465 ann@example.net:secret"
    assert values["smarthost_sasl"] == "yes"
    none = smarthost.template_values(CFG, layout, stored(), None)
    assert none["relayhost"] == "" and none["smarthost_sign_in"] == "" and none["smarthost_sasl"] == "no"
    assert none["outbound_transport"].startswith("error:")  # the loopback stack sends nothing out
    moved = smarthost.template_values(CFG, layout, stored(
        smarthost_host="10.0.0.6", smarthost_port=465, smarthost_username="ann@example.net"), sealed)
    assert moved["smarthost_sign_in"] == "" and moved["relayhost"] == "[10.0.0.6]:465"


def test_table_lines_refuse_what_postfix_would_misread():
    assert quote("[h]:1 u:p w#", "table") == "[h]:1 u:p w#"
    for bad in (" leading", "trailing ", "new\nline"):
        with pytest.raises(StackError):
            quote(bad, "table")


@pytest.mark.parametrize("text", ["bad host", "-x.example", "::1", "a", "host:25"])
def test_smarthost_host_must_be_a_host_name_or_ipv4(text):
    with pytest.raises(InvalidInput):
        settings_input.smarthost_host(text)
