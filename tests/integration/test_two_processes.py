"""Two app processes behind a round-robin proxy serve one person as one app (issue 18).

Each is `python app.py` as the mailroom user, as production runs it; the proxy sends
each request to the other process than the one before, so every step of the way
(sign-in form and sign-in, list, message, folder, compose, upload, send, filter,
sign-out) is answered by a process that did not serve the step before it. The effects
are checked in the mail system: the message arrived over IMAP, the script changed over
ManageSieve.
"""
from __future__ import annotations

import email
import http.client
import os
import re
import threading
import uuid
from dataclasses import dataclass
from email import policy
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis

from core import shared
from tests.conftest import free_ports
from tests.helpers import PASSWORD, csrf_token, deliver_raw, message, new_address, wait_for_subject
from tests.integration.portal_support import managesieve, rule_form
from tests.integration.process_support import served_app
from tests.integration.test_compose import hidden_fields

# Hop-by-hop headers (RFC 9110 §7.6.1) and the length the proxy sets itself.
NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                 "proxy-authorization", "proxy-authenticate", "content-length"}
SERVED_BY = "X-Test-Served-By"


class RoundRobin(ThreadingHTTPServer):
    """An HTTP proxy on loopback handing requests to PORTS in turn."""

    daemon_threads = True

    def __init__(self, ports: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.ports, self.turn, self.lock = ports, 0, threading.Lock()

    def next_port(self) -> int:
        with self.lock:
            port = self.ports[self.turn % len(self.ports)]
            self.turn += 1
            return port


class _Forward(BaseHTTPRequestHandler):
    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        port = self.server.next_port()
        upstream = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        upstream.request(self.command, self.path, body,
                         {k: v for k, v in self.headers.items() if k.lower() not in NOT_FORWARDED})
        answer = upstream.getresponse()
        data = answer.read()
        upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in NOT_FORWARDED:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header(SERVED_BY, str(port))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _forward

    def log_message(self, *args) -> None:  # the test's output stays quiet
        pass


@dataclass
class Answer:
    status: int
    location: str
    text: str
    port: int


class Visitor:
    """A browser without JavaScript: keeps cookies, follows no redirect, from SOURCE."""

    def __init__(self, port: int, source: str = "127.0.0.1") -> None:
        self.port, self.source, self.cookies = port, source, SimpleCookie()

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60,
                                          source_address=(self.source, 0))
        cookie = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        conn.request(method, path, body, {**({"Cookie": cookie} if cookie else {}), **(headers or {})})
        answer = conn.getresponse()
        text = answer.read().decode(errors="replace")
        for value in answer.headers.get_all("Set-Cookie") or []:
            self.cookies.load(value)
        conn.close()
        return Answer(answer.status, answer.headers.get("Location", ""), text,
                      int(answer.headers.get(SERVED_BY) or self.port))

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, form: dict) -> Answer:
        return self.request("POST", path, urlencode(form).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def sign_in(self, address: str, password: str = PASSWORD) -> list[Answer]:
        form = self.get("/login")
        done = self.post("/login", {"address": address, "password": password,
                                    "csrf_token": csrf_token(form.text)})
        return [form, done]


@pytest.fixture(scope="module")
def processes(mail_stack):
    """Two `python app.py` as the mailroom user; yields [(port, (process, log)), ...]."""
    ports = free_ports(2)
    # Tight enough that the guesses test below needs the two processes' counts together.
    with served_app(mail_stack, ports[0], LOGIN_LIMIT_ADDRESS="2 per minute", THREADS="4") as first, \
            served_app(mail_stack, ports[1], LOGIN_LIMIT_ADDRESS="2 per minute", THREADS="4") as second:
        yield [(ports[0], first), (ports[1], second)]


@pytest.fixture(scope="module")
def proxy(processes):
    """The round-robin proxy's port."""
    server = RoundRobin([port for port, _ in processes])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _uid_link(page: str, subject: str) -> str:
    """The href of the list row whose link names SUBJECT."""
    found = re.search(r'<li class="row[^>]*>(?:(?!</li>).)*?href="([^"]+)"(?:(?!</li>).)*?'
                      + re.escape(subject), page, re.S)
    assert found, f"no row {subject!r} in the list"
    return found.group(1).replace("&amp;", "&")


def test_a_person_works_across_two_processes_and_signs_out_of_both(mail_stack, stack_db, domain,
                                                                     app, processes, proxy):
    me, friend = new_address(stack_db, domain, "twoproc"), new_address(stack_db, domain, "friend")
    arrived = f"hello-{uuid.uuid4().hex[:8]}"
    deliver_raw(mail_stack, me, message("sender@outside.test", me, arrived, "Across processes.").as_bytes())
    wait_for_subject(mail_stack, me, arrived)
    visitor = Visitor(proxy)
    steps = visitor.sign_in(me)
    assert steps[-1].status == 302, steps[-1].text[-500:]

    # List and open the message.
    steps.append(listed := visitor.get("/mail"))
    assert arrived in listed.text
    steps.append(opened := visitor.get(_uid_link(listed.text, arrived)))
    assert opened.status == 200 and arrived in opened.text

    # A folder made through one process is in the tree the other shows next, though
    # each kept the tree of a list page (of an Inbox that has not changed since).
    steps += [visitor.get("/mail"), visitor.get("/mail")]
    folder = f"Proj-{uuid.uuid4().hex[:6]}"
    folders_form = visitor.get("/folders")
    steps += [folders_form, visitor.post("/folders", {"action": "create", "name": folder,
                                                      "csrf_token": csrf_token(folders_form.text)})]
    for _ in range(2):
        steps.append(listed := visitor.get("/mail"))
        shown = f'data-folder="{folder}"' in listed.text
        assert shown, f"process {listed.port} shows a stale tree"

    # Compose with an attachment: form, upload and send each on another process.
    steps.append(form := visitor.get("/compose"))
    fields = hidden_fields(form.text)
    attachment, sent = os.urandom(50_000), f"sent-{uuid.uuid4().hex[:8]}"
    steps.append(visitor.request(
        "POST", f"/compose/upload?{urlencode({'compose': fields['compose_id'], 'name': 'plan.bin'})}",
        attachment, {"X-CSRFToken": fields["csrf_token"], "Content-Type": "application/octet-stream",
                     "Accept": "application/json"}))
    assert steps[-1].status == 200, steps[-1].text
    steps.append(visitor.post("/compose/send", {**fields, "from": me, "to": friend, "subject": sent,
                                                "body": "The plan is attached."}))
    assert steps[-1].status == 302, steps[-1].text[-1000:]
    received = email.message_from_bytes(wait_for_subject(mail_stack, friend, sent), policy=policy.default)
    assert [p.get_payload(decode=True) for p in received.iter_attachments()] == [attachment]

    # A filter saved through the web pages is the script ManageSieve serves.
    rule = f"Sort {uuid.uuid4().hex[:6]}"
    new_rule = visitor.get("/settings/filters/new")
    steps += [new_rule, visitor.post("/settings/filters/new", {
        **rule_form(rule, [("subject", "contains", "project")], [("move", folder)]),
        "csrf_token": csrf_token(new_rule.text)})]
    assert steps[-1].status == 302, steps[-1].text[-1000:]
    with managesieve(mail_stack, me) as store:
        script = store.get("mailroom")
    assert rule in script and folder in script

    ports = [step.port for step in steps]
    assert all(a != b for a, b in zip(ports, ports[1:])), ports

    _no_password_in_cookie_store_log_or_argv(app, mail_stack, visitor, processes)

    # Sign out through one process: the same cookie is signed out on both.
    kept = SimpleCookie(visitor.cookies.output(header="", sep="\n"))
    account = visitor.get("/settings/filters")
    assert visitor.post("/logout", {"csrf_token": csrf_token(account.text)}).location.endswith("/login")
    refused_by = set()
    for _ in range(2):
        replayed = Visitor(proxy)
        replayed.cookies = kept
        answer = replayed.get("/mail")
        assert answer.status == 302 and "/login" in answer.location, (answer.port, answer.status)
        refused_by.add(answer.port)
    assert refused_by == {port for port, _ in processes}


def _no_password_in_cookie_store_log_or_argv(app, cfg, visitor, processes) -> None:
    """The signed-in person's password is in none of the places a process writes or shows."""
    cookie = app.session_interface.get_signing_serializer(app).loads(visitor.cookies["session"].value)
    assert PASSWORD not in repr(cookie) and "vault" in cookie
    store = redis.Redis.from_url(shared.store_url(cfg), **shared.store_options(cfg))
    keys = store.keys("*")
    assert keys, "the processes wrote nothing to the shared store"
    assert not [k for k in keys if PASSWORD.encode() in (store.dump(k) or b"")]
    for _, (proc, log) in processes:
        for name in ("cmdline", "environ"):
            assert PASSWORD.encode() not in Path(f"/proc/{proc.pid}/{name}").read_bytes()
        assert cfg["REDIS_PASSWORD"].encode() not in Path(f"/proc/{proc.pid}/environ").read_bytes()
        output = log.read_bytes()
        assert b"Mailroom serving" in output and PASSWORD.encode() not in output


def test_password_guesses_count_across_processes(stack_db, domain, processes):
    """Two wrong guesses, one on each process, use up the limit on both (2 per minute).

    Each from a client address of its own: Dovecot's auth penalty stays off 127.0.0.1.
    """
    target = new_address(stack_db, domain, "guessed")
    statuses = []
    for (port, _), source in zip([*processes, processes[0]], ("127.0.0.71", "127.0.0.72", "127.0.0.73")):
        statuses.append(Visitor(port, source).sign_in(target, "wrong-guess")[-1].status)
    assert statuses == [401, 401, 429]
