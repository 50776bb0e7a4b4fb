"""The backup service's refusals that need no stack."""
import pytest

from core.services.errors import InvalidInput
from core.services.server import backup


def test_postgresql_is_pointed_at_pg_dump(tmp_path):
    cfg = {"DATABASE_URL": "postgresql://mailroom@db/mailroom", "DATA_DIR": str(tmp_path),
           "STACK_DIR": str(tmp_path / "stack")}
    with pytest.raises(InvalidInput, match="pg_dump"):
        backup.create_backup(cfg, tmp_path / "b.tar.gz")
    assert not (tmp_path / "b.tar.gz").exists()
