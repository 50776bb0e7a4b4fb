"""Pure logic of the Dovecot server settings: which daemons a change reloads, the switches'
parsing, and how the two settings are written into Dovecot's and Postfix's files."""
from __future__ import annotations

import pytest

from core.services.errors import InvalidInput
from core.services.server import settings
from stack.files import TEMPLATES
from stack.quoting import render_text


def test_each_change_names_the_daemons_it_reloads():
    assert settings.reloaded({"deleted_to_trash": True}) == ["Dovecot"]
    assert settings.reloaded({"allow_unencrypted": True}) == ["Dovecot", "Postfix"]
    assert settings.reloaded({"helo_name": "x", "smarthost_password": "replaced"}) == ["Postfix"]
    assert settings.reloaded({"helo_name": "x", "deleted_to_trash": False}) == ["Dovecot", "Postfix"]


def test_the_switches_parse_on_and_off_and_refuse_anything_else():
    assert settings.parse({"deleted_to_trash": "on", "allow_unencrypted": "off"}) == {
        "deleted_to_trash": True, "allow_unencrypted": False}
    with pytest.raises(settings.InvalidSettings) as caught:
        settings.parse({"allow_unencrypted": "sometimes"})
    assert "neither on nor off" in caught.value.errors["allow_unencrypted"]
    assert settings.KEYS["deleted-to-trash"] == "deleted_to_trash"
    with pytest.raises(InvalidInput):
        settings.parse({"no_such_setting": "on"})


def test_an_empty_lazy_expunge_mailbox_is_written_as_an_empty_quoted_value():
    template = (TEMPLATES / "dovecot/conf.d/50-deleted-to-trash.conf").read_text(encoding="utf-8")
    assert 'lazy_expunge = ""' in render_text(template, {"lazy_expunge_mailbox": ""}, "dovecot")
    assert 'lazy_expunge = "Trash"' in render_text(template, {"lazy_expunge_mailbox": "Trash"}, "dovecot")
