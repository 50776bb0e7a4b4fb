"""DKIM keys on disk, the signing-domain list Rspamd reads, and the DNS record shown."""
from __future__ import annotations

import base64
import grp
import re
import stat

import pytest
from cryptography.hazmat.primitives import serialization

from core.services.directory.dkim import DkimRecord, txt_strings
from stack import dkim
from stack.errors import StackError
from stack.layout import Layout


@pytest.fixture
def layout(tmp_path) -> Layout:
    return Layout(root=tmp_path / "stack", data_dir=tmp_path, database=tmp_path / "db.sqlite")


def test_record_value_is_cut_into_quoted_strings_of_at_most_255_bytes():
    key = base64.b64encode(bytes(range(256)) + bytes(38)).decode()  # 392 characters, as RSA 2048
    record = DkimRecord("example.test", True, "default", key)
    parts = re.findall(r'"([^"]*)"', record.txt)
    assert [len(p) for p in parts] == [255, len(record.value) - 255]
    assert "".join(parts) == record.value == f"v=DKIM1; k=rsa; p={key}"
    assert record.name == "default._domainkey.example.test"
    assert record.txt == " ".join(f'"{p}"' for p in parts)
    assert txt_strings("x" * 510) == ["x" * 255, "x" * 255]
    assert DkimRecord("example.test", False, "default", None).as_json()["txt"] is None


def test_a_key_is_made_once_readable_by_rspamd_only(layout):
    assert dkim.ensure_key(layout, "example.test") is True
    path = dkim.key_path(layout, "example.test")
    first = dkim.public_key(layout, "example.test")
    assert dkim.ensure_key(layout, "example.test") is False
    assert dkim.public_key(layout, "example.test") == first
    info, folder = path.stat(), path.parent.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640 and stat.S_IMODE(folder.st_mode) == 0o750
    assert grp.getgrgid(info.st_gid).gr_name == grp.getgrgid(folder.st_gid).gr_name == "_rspamd"
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert private.key_size == 2048
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    assert dkim.remove_key(layout, "example.test") is True and dkim.public_key(layout, "example.test") is None
    assert dkim.remove_key(layout, "example.test") is False


@pytest.mark.parametrize("name", ["../etc", "a/b", "x.test/../../y", "", "-x.test", "a b.test"])
def test_a_key_path_comes_from_a_domain_name_only(layout, name):
    with pytest.raises(StackError):
        dkim.key_path(layout, name)


def test_only_domains_with_a_key_are_listed_for_signing(layout):
    dkim.ensure_key(layout, "signed.test")
    block = dkim.domains_block(layout, ["signed.test", "keyless.test"])
    path = dkim.key_path(layout, "signed.test")
    assert f"\"signed.test\" {{ path = '{path}'; selector = 'default'; }}" in block
    assert "keyless.test" not in block
    assert dkim.domains_block(layout, []).endswith("domain {\n}\n")
    with pytest.raises(StackError):
        dkim.domains_block(layout, ["evil.test'; path = '/etc/shadow"])

