"""Spam filter logic without daemons: settings, rules, the queue format, the pipe program."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from core.mail import rspamd
from core.mail.learnspool import BadEntry, Spool, State
from core.models import Group, Mailbox
from core.models.spam import FilterSettings, filter_settings, map_contents
from core.services.directory import lookup
from core.services.spam import learning, spam_filter
from core.services.errors import InvalidInput
from core.spam_cli import status_lines
from stack.quoting import render_text
from stack.files import TEMPLATES
from stack.spam import action_values

PIPE_PROGRAM = TEMPLATES / "dovecot" / "imapsieve" / "mailroom-learn"


@pytest.fixture
def queue(tmp_path) -> Spool:
    """An empty spool directory."""
    root = tmp_path / "learn"
    for path in (root, root / "tmp", root / "new"):
        path.mkdir()
    return Spool(root)


def test_thresholds_map_to_rspamd_actions():
    plain = spam_filter.parse_settings("3", "5.5", "12", "")
    assert plain.rspamd_actions() == {"greylist": 3.0, "add header": 5.5,
                                      "rewrite subject": None, "reject": 12.0}
    prefixed = spam_filter.parse_settings("", "6,5", "20", " [SPAM] ")
    assert prefixed.rspamd_actions() == {"greylist": None, "add header": None,
                                         "rewrite subject": 6.5, "reject": 20.0}
    assert action_values(prefixed)["spam_subject"] == "[SPAM] %s"
    assert action_values(prefixed)["spam_greylist"] == "null"


@pytest.mark.parametrize("values, message", [
    (("7", "6", "15", ""), "greylist threshold (7) must be below the spam threshold (6)"),
    (("", "16", "15", ""), "spam threshold (16) must be below the reject threshold (15)"),
    (("4", "six", "15", ""), "Spam: enter a score"),
    (("4", "6", "0", ""), "Reject: the score must be above 0"),
    (("4", "6", "nan", ""), "Reject: the score must be above 0"),
    (("4", "6", "15", "100% spam"), "cannot contain %"),
    (("4", "6", "15", "x" * 41), "at most 40 characters"),
])
def test_bad_settings_are_refused_in_plain_words(values, message):
    with pytest.raises(InvalidInput, match=re.escape(message)):
        spam_filter.parse_settings(*values)


def test_actions_template_renders_numbers_off_and_the_subject():
    settings = FilterSettings(None, 6.0, 15.0, "[SPAM] it's")
    text = render_text((TEMPLATES / "rspamd/local.d/actions.conf").read_text(),
                       action_values(settings), "ucl")
    assert "greylist = null;" in text and "add_header = null;" in text
    assert "rewrite_subject = 6.0;" in text and "reject = 15.0;" in text
    assert "subject = '[SPAM] it\\'s %s';" in text


def test_settings_are_stored_and_read_back(session):
    assert filter_settings(session) == FilterSettings()
    wanted = FilterSettings(3.0, 5.0, 10.0, "[SPAM]")
    spam_filter.save_settings(session, wanted)
    assert filter_settings(session) == wanted


def test_rules_are_normalised_and_become_map_files(session):
    spam_filter.add_rule(session, "block_from", "@Spam.Example")
    spam_filter.add_rule(session, "block_from", "Boss@Spam.Example")
    spam_filter.add_rule(session, "allow_to", "bücher.example")
    with pytest.raises(InvalidInput, match="already"):
        spam_filter.add_rule(session, "block_from", "spam.example")
    with pytest.raises(InvalidInput, match="neither a mail address nor a domain"):
        spam_filter.add_rule(session, "allow_from", "not a domain")
    with pytest.raises(InvalidInput, match="Choose"):
        spam_filter.add_rule(session, "nonsense", "spam.example")
    maps = map_contents(session)
    assert maps["block_from_domain"] == "spam.example\n"
    assert maps["block_from"] == "boss@spam.example\n"
    assert maps["allow_to_domain"] == "xn--bcher-kva.example\n"
    assert maps["allow_from"] == maps["allow_from_domain"] == maps["allow_to"] == ""
    rule = spam_filter.list_rules(session)["block_from"][0]
    spam_filter.remove_rule(session, rule.id)
    assert map_contents(session)["block_from"] == ""


def test_allow_rules_never_override_an_antivirus_verdict():
    composites = (TEMPLATES / "rspamd/local.d/composites.conf").read_text()
    assert re.search(r'expression = ".*& !g:antivirus";', composites)
    force = (TEMPLATES / "rspamd/local.d/force_actions.conf").read_text()
    assert "!MAILROOM_ALLOW_FROM" in force and 'action = "reject"' in force


def test_min_learns_matches_the_rendered_classifier():
    text = (TEMPLATES / "rspamd/local.d/classifier-bayes.conf").read_text()
    assert f"min_learns = {learning.MIN_LEARNS};" in text


def test_spamtrainers_group_limits_who_trains(session):
    lookup.add_domain(session, "example.test")
    lookup.add_mailbox(session, "anna@example.test", "a-long-password-1")
    lookup.add_mailbox(session, "bert@example.test", "a-long-password-1")
    assert learning.may_train(session, "anna@example.test")
    assert learning.trainer_status(session, "anna@example.test", {}).group_exists is False
    group = Group(name=learning.TRAINERS_GROUP)
    group.members.append(session.query(Mailbox).filter_by(address="anna@example.test").one())
    session.add(group)
    session.flush()
    assert learning.may_train(session, "Anna@example.test")
    assert not learning.may_train(session, "bert@example.test")
    assert "only move the messages" in learning.trainer_status(session, "bert@example.test", {}).reason


def test_the_directorys_spamtrainers_count_like_mailrooms(session):
    directory = {"grace@example.test": ["spamtrainers", "staff"], "ada@example.test": ["staff"]}
    grace = learning.trainer_status(session, "grace@example.test", directory)
    ada = learning.trainer_status(session, "ada@example.test", directory)
    assert grace.group_exists and grace.trains
    assert ada.group_exists and not ada.trains  # the directory's group alone limits training


def test_the_pipe_program_queues_stdin_for_the_worker(queue, tmp_path):
    program = tmp_path / "mailroom-learn"
    program.write_text(render_text(PIPE_PROGRAM.read_text(), {"learn_spool": queue.root}, "bare"))
    program.chmod(0o755)
    raw = b"Subject: hello\r\n\r\nbody text\r\n"
    env = {"USER": "anna@example.test", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([str(program), "spam"], input=raw, env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    [name] = queue.names()
    entry = queue.read(name, os.getuid())
    assert (entry.kind, entry.user, entry.raw) == ("spam", "anna@example.test", raw)
    assert abs(entry.queued - time.time()) < 30
    assert not list(queue.tmp.iterdir())
    refused = subprocess.run([str(program), "--evil"], input=raw, env=env, capture_output=True,
                             check=False)
    assert refused.returncode == 64 and queue.length() == 1


def test_the_worker_refuses_what_the_pipe_program_did_not_write(queue, tmp_path):
    name = queue.enqueue("ham", "bert@example.test", b"message")
    assert queue.read(name, os.getuid()).kind == "ham"
    with pytest.raises(BadEntry, match="regular file of the mail user"):
        queue.read(name, os.getuid() + 1)
    secret = tmp_path / "secret"
    secret.write_text("root only")
    link = "1.2.abcd.spam"
    (queue.new / link).symlink_to(secret)
    with pytest.raises(BadEntry, match="cannot open"):
        queue.read(link, os.getuid())
    (queue.new / "3.4.ef.spam").write_bytes(b"no header\nbody")
    with pytest.raises(BadEntry, match="no valid header"):
        queue.read("3.4.ef.spam", os.getuid())
    with pytest.raises(BadEntry, match="unexpected file name"):
        queue.read("../../etc/passwd", os.getuid())


def test_state_survives_a_round_trip(queue):
    state = State(last_error="Rspamd is unreachable", failures=2)
    entry = queue.read(queue.enqueue("spam", "anna@example.test", b"m"), os.getuid())
    state.record(entry, rspamd.ALREADY)
    queue.write_state(state)
    again = queue.read_state()
    assert again.failures == 2 and again.totals == {rspamd.ALREADY: 1}
    assert again.recent[0]["user"] == "anna@example.test"
    assert oct(queue.state_file.stat().st_mode)[-3:] == "644"


def _training(queue: Spool, trains: bool = True) -> learning.Training:
    return learning.Training("anna@example.test", learning.TrainerStatus(trains, True), queue)


def test_mark_as_spam_says_how_the_move_trains_without_waiting(queue):
    assert "did not train" in _training(queue, trains=False).after_move("spam")
    assert _training(queue).after_move("spam") == ("The move is queued to teach the spam "
                                                   "filter what spam looks like.")
    assert _training(queue).after_move("notspam").endswith("what ham looks like.")
    state = queue.read_state()
    state.failures = 3
    queue.write_state(state)
    assert "cannot be reached right now" in _training(queue).after_move("spam")


def test_readiness_needs_both_counts():
    assert not learning.Readiness(250, 199).active
    assert learning.Readiness(200, 200).active
    assert learning.Readiness(50, 0).percent("spam") == 25
    assert learning.Readiness(500, 0).percent("spam") == 100


def test_status_says_bayes_is_unavailable_when_its_counts_cannot_be_read():
    down = learning.Readiness(None, None, error="Redis does not answer")
    lines = status_lines(learning.SpamStatus(down, learning.QueueStatus(0, True)))
    assert "Bayes active:       unavailable: Redis does not answer" in lines
    assert not down.available and not down.active
    assert learning.Readiness(0, 0).available


def test_redis_replies_are_parsed():
    reply = rspamd._redis_reply(io.BytesIO(b"*2\r\n$3\r\n212\r\n$-1\r\n"))
    assert reply == [b"212", None]
    with pytest.raises(rspamd.SpamFilterError, match="WRONGTYPE"):
        rspamd._redis_reply(io.BytesIO(b"-WRONGTYPE bad\r\n"))


def test_status_json_has_the_documented_shape():
    status = learning.SpamStatus(learning.Readiness(12, 3), learning.QueueStatus(2, True, "down", 1.0, None, 1))
    data = json.loads(json.dumps(status.as_json()))
    assert data["learned"] == {"spam": 12, "ham": 3}
    assert data["min_learns"] == {"spam": 200, "ham": 200}
    assert data["bayes_active"] is False
    assert data["queue"]["length"] == 2 and data["queue"]["last_error"] == "down"
    assert data["queue"]["failing"] is True


def test_the_pipe_program_is_standard_library_only():
    source = PIPE_PROGRAM.read_text()
    imports = set(re.findall(r"^import (\w+)", source, re.M))
    assert imports <= {"json", "os", "sys", "time"}
    assert source.startswith("#!/usr/bin/python3 -IS\n")
    assert Path("/usr/bin/python3").exists()
