"""Rules the browser tests must keep to run against the pages' own CSP."""
import re
from pathlib import Path

BROWSER_TESTS = Path(__file__).resolve().parents[1] / "browser"
# A predicate given as a function's source ("() => ...", "wanted => ...").
FUNCTION_SOURCE = re.compile(r"""wait_for_function\(\s*["'](\(?[\w\s,]*\)?\s*=>)""")


def test_wait_for_function_is_given_a_function_not_an_expression():
    # Playwright compiles a function's source once, through the debugger, which CSP does
    # not govern; an expression it evaluates with eval() at every poll, which the pages'
    # script-src refuses as soon as the first poll is false (a full run failed on it).
    found = [f"{path.name}:{number}"
             for path in sorted(BROWSER_TESTS.glob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if "wait_for_function(" in line and not FUNCTION_SOURCE.search(line)]
    assert not found, found
