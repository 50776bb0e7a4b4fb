"""The import graph of the first-party code goes one way and has no circles.

Views, the CLI and the stack's daemons call services; services call stores and
models; the stack's manager and renderers take plain values. The graph is built
from the source with `ast`, so imports nested in functions (which only hide a
circle) count like any other.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "stack", "portal", "webmail", "api")
PROTOCOL_LIBRARIES = {"imapclient", "sievelib", "smtplib", "subprocess", "imaplib"}
# The stack's daemons are entry points like views: they may call services.
DAEMONS = ("stack.worker", "stack.learnd", "stack.filter")


def module_name(path: Path) -> str:
    """'core/services/directory/aliases.py' -> 'core.services.directory.aliases'."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def first_party() -> dict[str, Path]:
    """Every first-party module by dotted name."""
    paths = [ROOT / "app.py"]
    for package in PACKAGES:
        paths.extend((ROOT / package).rglob("*.py"))
    return {module_name(path): path for path in paths}


def imported_names(name: str, path: Path, modules=()) -> set[str]:
    """Every dotted name the module imports, anywhere in its body, with relative ones resolved.

    `from pkg import sub` depends on the module pkg.sub when MODULES has it, and on
    pkg's __init__ only for names defined there (a parent package is always
    initialised first, so depending on it for a submodule adds nothing).
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[:len(parts) - node.level + 1] if node.level else []
            source = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                names.add(submodule if submodule in modules else source)
    return names


def graph() -> dict[str, set[str]]:
    """Module -> the first-party modules it imports."""
    modules = first_party()
    edges = {}
    for name, path in modules.items():
        targets = {target for target in imported_names(name, path, modules) if target in modules}
        edges[name] = targets - {name}
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path ['a', 'b', 'a'], or None (depth-first search)."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def is_daemon(name: str) -> bool:
    """Whether NAME belongs to one of the stack's daemons."""
    return any(name == daemon or name.startswith(daemon + ".") for daemon in DAEMONS)


def test_no_import_cycles():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_views_never_import_protocol_libraries():
    offenders = {
        name: sorted({imported.split(".")[0] for imported in imported_names(name, path)}
                     & PROTOCOL_LIBRARIES)
        for name, path in first_party().items() if name.split(".")[0] in ("webmail", "portal", "api")
    }
    assert {name: libs for name, libs in offenders.items() if libs} == {}


def test_stack_takes_plain_values():
    offenders = sorted(
        f"{name} -> {target}" for name, targets in graph().items()
        if name.split(".")[0] == "stack" and not is_daemon(name)
        for target in targets if target.startswith("core.services"))
    assert offenders == []


def test_find_cycle_reports_the_path():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
