"""Antivirus without the stack: clamd's PING, the setting's parsing, what the templates say."""
from __future__ import annotations

import re
import socket
import threading

import pytest

from core.mail import clamd
from core.mail.errors import ServiceUnavailable
from core.services.errors import InvalidInput
from core.services.server import settings
from stack.files import TEMPLATES

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def answering(reply: bytes) -> tuple[socket.socket, int, list[bytes]]:
    """A listening socket that reads one command and sends REPLY; its port, and the
    list the command it read is put in."""
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve():
        conn, _ = server.accept()
        with conn:
            received.append(conn.recv(64))
            conn.sendall(reply)
    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1], received


def test_ping_accepts_pong_and_sends_the_nul_terminated_command():
    server, port, received = answering(b"PONG\0")
    with server:
        clamd.ping(clamd.ClamdSettings("", "127.0.0.1", port))
    assert received == [b"zPING\0"]


def test_ping_refuses_another_answer_and_a_closed_port_saying_where():
    server, port, _ = answering(b"UNKNOWN COMMAND\0")
    with server, pytest.raises(ServiceUnavailable, match=f"127.0.0.1:{port} answered"):
        clamd.ping(clamd.ClamdSettings("", "127.0.0.1", port))
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(ServiceUnavailable, match=r"virus scanner \(clamd\) is unreachable: no answer on"):
        clamd.ping(clamd.ClamdSettings("", "127.0.0.1", port))


def test_settings_prefer_the_unix_socket_of_a_system_install():
    cfg = {"CLAMD_SOCKET": "/run/clamav/clamd.ctl", "LISTEN_ADDRESS": "127.0.0.1", "CLAMD_PORT": 13310}
    assert clamd.ClamdSettings.from_config(cfg).where() == "/run/clamav/clamd.ctl"
    assert clamd.ClamdSettings.from_config({**cfg, "CLAMD_SOCKET": ""}).where() == "127.0.0.1:13310"


def test_antivirus_is_a_switch_read_by_postfix_and_rspamd():
    assert settings.parse({"antivirus": "off"}) == {"antivirus": False}
    assert settings.parse({"antivirus": "on"}) == {"antivirus": True}
    with pytest.raises(InvalidInput):
        settings.parse({"antivirus": "maybe"})
    assert settings.reloaded({"antivirus": True}) == ["Postfix", "Rspamd"]


def test_the_shipped_signature_is_the_eicar_string():
    name, target, offset, pattern = (TEMPLATES / "clamav/mailroom-test.ndb").read_text().strip().split(":")
    assert (target, offset) == ("0", "*") and bytes.fromhex(pattern) == EICAR and name.startswith("Mailroom.")


def test_a_virus_is_rejected_and_an_unscanned_message_deferred_whatever_the_allow_rules():
    force = (TEMPLATES / "rspamd/local.d/force_actions.conf").read_text()
    virus = re.search(r'MAILROOM_VIRUS \{(.*?)\}', force, re.S).group(1)
    assert 'action = "reject"' in virus and 'expression = "CLAM_VIRUS"' in virus and "ALLOW" not in virus
    unscanned = re.search(r'MAILROOM_VIRUS_UNSCANNED \{(.*?)\}', force, re.S).group(1)
    assert 'action = "soft reject"' in unscanned and 'expression = "CLAM_VIRUS_FAIL"' in unscanned
    antivirus = (TEMPLATES / "rspamd/local.d/antivirus.conf").read_text()
    assert 'symbol = "CLAM_VIRUS";' in antivirus and 'action = "reject";' in antivirus
    main_cf = (TEMPLATES / "postfix/main.cf").read_text()
    assert "milter_default_action = {{milter_default_action}}" in main_cf
