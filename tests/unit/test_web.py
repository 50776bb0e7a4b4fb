"""The web layer without daemons: forms, headers, error pages, a mail server that is down."""
import re
import socket

import pytest

from app import create_app


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def app(tmp_path):
    from core.db import upgrade

    url = f"sqlite:///{tmp_path / 'web.db'}"
    upgrade(url)
    return create_app({"ENV": "testing", "SECRET_KEY": "t" * 20 + "0123456789abcdef",
                       "DATA_DIR": str(tmp_path), "DATABASE_URL": url,
                       "IMAP_PORT": _closed_port(), "MAIL_TIMEOUT": 2})


@pytest.fixture
def client(app):
    return app.test_client()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_login_page_has_labelled_fields_and_strict_headers(client):
    response = client.get("/login")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<label for="f-address">E-mail address</label>' in html
    assert '<label for="f-password">Password</label>' in html
    assert "<script>" not in html  # no inline scripts
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_need_sign_in(client):
    for path in ("/", "/settings/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"address": "a@example.test", "password": "x"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_logout_without_csrf_token_is_refused(client):
    response = client.post("/logout")
    assert response.status_code == 400


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Back to mail" in response.get_data(as_text=True)


def test_imap_down_names_the_daemon(client):
    token = _csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"address": "a@example.test", "password": "pw",
                                            "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "IMAP server (Dovecot)" in html and "Traceback" not in html


def test_production_app_refuses_weak_key(tmp_path, monkeypatch):
    from core.config import ConfigError

    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    with pytest.raises(ConfigError):
        create_app({"ENV": "production", "SECRET_KEY": "changeme", "DATA_DIR": str(tmp_path)})


def test_junk_default_command_sets_the_server_retention(app):
    """The server-wide Junk retention that mailboxes follow unless they override it."""
    import json

    from core.db import db
    from core.services.personal import junk

    runner = app.test_cli_runner()
    assert "after 30 days" in runner.invoke(args=["junk", "default"]).output
    result = runner.invoke(args=["junk", "default", "14", "--json"])
    assert json.loads(result.output) == {"junk_days": 14}
    with app.app_context():
        assert junk.server_days(db.session) == 14
    refused = runner.invoke(args=["junk", "default", "-1"])
    assert refused.exit_code != 0 and "Traceback" not in refused.output


def test_favicon_ico_leads_to_the_svg_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.headers["Location"].endswith("/static/img/favicon.svg")
    assert client.get("/static/img/favicon.svg").mimetype == "image/svg+xml"


def test_client_limit_counts_an_ipv6_network_not_each_of_its_addresses(tmp_path):
    # Issue 12, like the per-address limit: one IPv6 client holds a whole /64, so counting
    # each address would give it 2^64 fresh limits.
    from core.db import upgrade

    url = f"sqlite:///{tmp_path / 'web.db'}"
    upgrade(url)
    client = create_app({"ENV": "testing", "SECRET_KEY": "t" * 20 + "0123456789abcdef",
                         "DATA_DIR": str(tmp_path), "DATABASE_URL": url,
                         "LOGIN_LIMIT_IP": "2 per minute"}).test_client()

    def attempt(ip: str) -> int:
        token = _csrf(client.get("/login", environ_base={"REMOTE_ADDR": ip}).get_data(as_text=True))
        return client.post("/login", data={"address": f"no address {ip}", "password": "x",
                                           "csrf_token": token},
                           environ_base={"REMOTE_ADDR": ip}).status_code

    statuses = [attempt(f"2001:db8:12:34::{n}") for n in range(1, 4)]
    assert statuses == [401, 401, 429]
    assert attempt("2001:db8:12:35::1") == 401  # another network
