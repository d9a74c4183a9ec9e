"""The layers import only what the table "What may import what" in docs/architecture.md allows."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("domain", "persistence", "application", "projections", "api", "infrastructure")

# The same table as docs/architecture.md: which other layers each layer may import.
MAY_IMPORT: dict[str, set[str]] = {
    "domain": set(),
    "persistence": {"domain"},
    "application": {"domain", "persistence"},
    "projections": {"domain", "persistence"},
    "api": {"application", "domain", "persistence", "projections"},
    "infrastructure": {"domain", "persistence", "application", "projections", "api"},
}

# Besides the standard library, the domain uses only these (no I/O, no persistence).
DOMAIN_LIBRARIES = {"eventsourcing.domain", "pydantic", "pydantic_core", "holidays"}

# Imports that break the table, each named (module, what it imports). `api/app.py` is the
# API's composition root: it builds the app from infrastructure's settings, database URL,
# database watch and wiring, and hands the routes only the ports of `api/ports.py` and the
# application's facade. This list may only shrink: the test fails on an entry that no longer
# occurs, so a fixed one is struck off here.
KNOWN_EXCEPTIONS: set[tuple[str, str]] = {
    ("api/app.py", "infrastructure.database"),  # composition root: a malformed URL fails at start
    ("api/app.py", "infrastructure.database_watch"),  # composition root: builds the watch
    ("api/app.py", "infrastructure.settings"),  # composition root: the app is built from them
    ("api/app.py", "infrastructure.wiring"),  # composition root: builds the application
}


def imports_of(path: Path) -> set[str]:
    """Every absolute module a file imports, wherever in the file (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module in LAYERS:  # `from projections import view_store`: a module
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
    return found


def modules_of(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def layer_imports() -> set[tuple[str, str, str]]:
    """(file, imported module, its layer) for every import of another layer."""
    crossings: set[tuple[str, str, str]] = set()
    for layer in LAYERS:
        for path in modules_of(layer):
            for module in imports_of(path):
                target = module.split(".")[0]
                if target in LAYERS and target != layer:
                    crossings.add((path.relative_to(ROOT).as_posix(), module, target))
    return crossings


def broken_rules() -> set[tuple[str, str]]:
    return {
        (file, module)
        for file, module, target in layer_imports()
        if target not in MAY_IMPORT[file.split("/")[0]]
    }


def test_every_layer_of_the_table_has_modules() -> None:
    assert all(modules_of(layer) for layer in LAYERS)


def test_no_layer_imports_a_layer_the_architecture_forbids_it() -> None:
    unexpected = broken_rules() - KNOWN_EXCEPTIONS
    assert unexpected == set(), "imports against docs/architecture.md's layer table"


def test_every_listed_exception_still_occurs_so_the_list_only_shrinks() -> None:
    fixed = KNOWN_EXCEPTIONS - broken_rules()
    assert fixed == set(), "no longer imported: strike these off KNOWN_EXCEPTIONS"


def test_projections_import_neither_the_application_nor_the_infrastructure() -> None:
    assert {
        (file, module)
        for file, module, target in layer_imports()
        if file.startswith("projections/") and target in {"application", "infrastructure"}
    } == set()


def test_the_domain_imports_only_the_standard_library_and_its_few_libraries() -> None:
    outside = {
        (path.relative_to(ROOT).as_posix(), module)
        for path in modules_of("domain")
        for module in imports_of(path)
        if module.split(".")[0] not in {*sys.stdlib_module_names, "__future__", "domain"}
        and not any(module == lib or module.startswith(f"{lib}.") for lib in DOMAIN_LIBRARIES)
    }
    assert outside == set()
