"""Attachment blocking's pure parts: the detector's names and classes, the typed list, Lua quoting."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.services.errors import InvalidInput
from core.services.server.settings_input import attachment_types
from stack import attachments
from stack.quoting import quote, render_text

LUA_MAGIC_TYPES = Path("/usr/share/rspamd/lualib/lua_magic/types.lua")


def test_the_classes_hold_what_the_issue_names():
    assert {"exe", "elf", "macho", "msi", "script"} <= set(attachments.EXECUTABLES)
    assert {"zip", "rar", "7z", "tar", "gz", "bz2", "xz", "cab", "iso"} <= set(attachments.ARCHIVES)
    assert {"docx", "odt", "xlsx"} <= set(attachments.ZIP_BASED) <= set(attachments.ARCHIVES)
    assert not set(attachments.EXECUTABLES) & set(attachments.ARCHIVES)
    assert len(attachments.DETECTORS) == len(set(attachments.DETECTORS))


@pytest.mark.skipif(not LUA_MAGIC_TYPES.exists(), reason="Rspamd is not installed")
def test_every_name_lua_magic_reports_is_known():
    reported = set(re.findall(r"^  (?:\['([\w]+)'\]|(\w+)) = \{", LUA_MAGIC_TYPES.read_text(), re.M))
    names = {a or b for a, b in reported}
    assert names and names <= set(attachments.DETECTORS)
    # the three found by the prefilter's own magic numbers
    assert set(attachments.DETECTORS) - names == {"macho", "script"}


def test_a_class_names_its_members_and_chosen_types_name_themselves():
    classes = attachments.blocked(executables=True, archives=False, types=["pdf", "elf"])
    assert classes["elf"] == "executable" and classes["pdf"] == "pdf" and "zip" not in classes
    assert attachments.blocked(False, True, [])["docx"] == "archive"
    assert attachments.rule_text({}) == ""
    assert attachments.rule_text({"pdf": "pdf", "elf": "executable"}) == "elf=executable,pdf=pdf"
    with pytest.raises(ValueError):
        attachments.rule_text({"pdf); os.exit(": "x"})


def test_typed_names_are_checked_normalised_and_deduplicated():
    assert attachment_types(" PDF, png  pdf\n") == "pdf,png"
    assert attachment_types("") == ""
    with pytest.raises(InvalidInput, match="“exe2” is not a type the detector names"):
        attachment_types("pdf, exe2")
    with pytest.raises(InvalidInput, match="are not types"):
        attachment_types("foo bar")


def test_lua_values_are_string_literals():
    assert quote('say "hi" \\ bye', "lua") == '"say \\"hi\\" \\\\ bye"'
    assert render_text("x = {{v:lua}}", {"v": "elf=executable"}, "ucl") == 'x = "elf=executable"'
    with pytest.raises(Exception, match="control character"):
        quote('a"\n os.exit()', "lua")
