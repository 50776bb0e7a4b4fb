from pathlib import Path

import pytest

from core.config import ConfigError, check_secret_key, load_config


def test_environment_overrides_defaults_and_converts_types(tmp_path):
    cfg = load_config(environ={"MAILROOM_PORT": "9001", "MAILROOM_DATA_DIR": str(tmp_path),
                               "MAILROOM_COOKIE_SECURE": "yes"})
    assert cfg["PORT"] == 9001
    assert cfg["COOKIE_SECURE"] is True
    assert cfg["DATABASE_URL"] == f"sqlite:///{tmp_path / 'db' / 'mailroom.db'}"
    assert cfg["STACK_DIR"] == str(tmp_path / "stack")


def test_bad_number_names_the_variable():
    with pytest.raises(ConfigError, match="MAILROOM_PORT"):
        load_config(environ={"MAILROOM_PORT": "eighty"})


def test_secret_comes_from_file(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cr3t-from-a-file-0123456789abcdefghij\n")
    cfg = load_config(environ={"MAILROOM_SECRET_KEY_FILE": str(secret),
                               "MAILROOM_DATA_DIR": str(tmp_path)})
    assert cfg["SECRET_KEY"] == "s3cr3t-from-a-file-0123456789abcdefghij"


def test_default_secret_file_in_data_dir(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "secret_key").write_text("k" * 10 + "0123456789abcdefghijklmnop")
    assert load_config(environ={"MAILROOM_DATA_DIR": str(tmp_path)})["SECRET_KEY"].startswith("k")


@pytest.mark.parametrize("key", ["", "changeme", "short", "a" * 40])
def test_production_refuses_missing_or_weak_secret(key):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        check_secret_key({"ENV": "production", "SECRET_KEY": key})


def test_production_accepts_strong_secret():
    check_secret_key({"ENV": "production", "SECRET_KEY": "Zq8vN2xR5tLp0wYc7bHj4kMs9dFg3aEu"})


def test_readme_documents_every_setting():
    """Every MAILROOM_* variable the app reads has a row in the README's table."""
    from pathlib import Path

    from core.config import DEFAULTS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert [key for key in DEFAULTS if f"MAILROOM_{key}" not in readme] == []


def test_web_app_refuses_to_serve_as_root_unless_told_it_is_development():
    import os

    from app import refuse_root

    if os.geteuid() != 0:
        refuse_root()  # an ordinary user is fine
        return
    with pytest.raises(SystemExit, match="does not run as root"):
        refuse_root({})
    refuse_root({"MAILROOM_ALLOW_ROOT": "1"})


@pytest.fixture
def open_dir():
    """A folder under /tmp that anyone may traverse (pytest's own tmp_path is 0700)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="mr-cfg-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_data_goes_beside_the_checkout_when_the_daemons_can_reach_it(open_dir):
    from core.config import default_data_dir

    checkout = open_dir / "open" / "mailroom"
    checkout.mkdir(parents=True)
    for path in (open_dir / "open", checkout):
        path.chmod(0o755)
    assert default_data_dir(checkout) == checkout / "var"


@pytest.mark.parametrize("private, name", [(True, "project"), (False, "my project")])
def test_a_clone_in_a_private_folder_or_with_a_space_keeps_its_data_in_var_lib(open_dir, private, name):
    from core.config import default_data_dir, instance_name

    above = open_dir / "root"
    checkout = above / name
    checkout.mkdir(parents=True)
    above.chmod(0o700 if private else 0o755)
    checkout.chmod(0o755)
    data = default_data_dir(checkout)
    assert data.parent == Path("/var/lib/mailroom") and data.name == instance_name(checkout)
    assert data.name.startswith("project-" if private else "my-project-")
    assert default_data_dir(checkout) == data  # the same checkout always gets the same place
    assert instance_name(open_dir / "other" / name) != data.name
