"""The fault tests stop and start daemons of the stack every other test uses.

They run after all other tests (tests/conftest.py puts them last), and each must leave
every daemon running: `support.stopped` starts its daemon again however the test ends,
and the check below brings up anything still down (and fails the test that left it so),
so one broken restart cannot spread to the next test.
"""
from __future__ import annotations

import pytest

from stack import daemons, up
from stack.layout import DAEMONS, Layout


@pytest.fixture(autouse=True)
def stack_left_running(mail_stack):
    """After each test, every daemon of the stack runs; else bring it up and fail."""
    yield
    layout = Layout.from_config(mail_stack)
    down = [name for name in DAEMONS if not daemons.running(layout, name)]
    if down:
        up(mail_stack)
        pytest.fail(f"the test left {', '.join(down)} stopped (started again)")
