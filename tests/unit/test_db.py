"""The SQLite engine: the private database's WAL stays shared with other processes."""
import subprocess
import sys

from sqlalchemy import text

from core.config import private_database
from core.db import make_engine


def other_process(path, sql: str) -> str:
    """Run SQL on the SQLite file PATH in a process of its own (as Dovecot's passdb does)."""
    code = (f"import sqlite3; c = sqlite3.connect({str(path)!r}); "
            f"print(c.execute({sql!r}).fetchall()); c.close()")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()


def test_a_commit_after_another_process_closed_the_private_database_is_seen(tmp_path):
    database = tmp_path / "mailroom.db"
    engine = make_engine(f"sqlite:///{database}")
    first = engine.connect()
    first.execute(text("CREATE TABLE private.credentials (address TEXT)"))
    first.execute(text("INSERT INTO private.credentials VALUES ('ann@example.test')"))
    first.commit()
    second = engine.connect()  # a new pooled connection attaches the file again
    # Another reader comes and goes; it must not take itself for the last one and
    # remove the WAL the first connection still writes into.
    assert other_process(private_database(database), "SELECT count(*) FROM credentials") == "[(1,)]"
    first.execute(text("INSERT INTO private.credentials VALUES ('bob@example.test')"))
    first.commit()
    assert other_process(private_database(database), "SELECT count(*) FROM credentials") == "[(2,)]"
    second.close()
    first.close()
    engine.dispose()
