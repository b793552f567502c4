"""The package's rooms import only downwards (ARCHITECTURE.md): a module that imports a room above its
own, or a room beside it that it may not know, fails here with the line that does it."""

from __future__ import annotations

import ast
from pathlib import Path

from kidrate.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "kidrate"

# Each room and the rooms it may import (besides itself). "core" is the frame's bottom; "app" its top.
MAY_IMPORT = {
    "core": set(),
    "red_thread": {"core"},
    "languages": {"core"},
    "statistics": {"core", "red_thread"},
    "protection": {"core", "red_thread"},
    "notifications": {"core", "red_thread", "protection"},
    "sign_on": {"core"},
    "child": {"core", "red_thread", "languages", "protection"},
    "staff": {"core", "red_thread", "languages", "protection", "statistics", "notifications", "sign_on"},
    "app": {"core", "red_thread", "languages", "protection", "statistics", "notifications", "sign_on", "child",
            "staff"},
}
CORE = {"config", "vocab", "filter_values", "extensions", "models", "assets", "protection.crypto"}
APP = {"", "cli", "demo", "health", "gunicorn_conf"}  # "" is kidrate/__init__.py: create_app


def room_of(module: str) -> str:
    """The room of a dotted module name inside kidrate ("kidrate.red_thread.links" → "red_thread")."""
    inside = module.removeprefix("kidrate").removeprefix(".")
    if inside in CORE or inside.split(".")[0] in CORE:
        return "core"
    if inside in APP:
        return "app"
    return inside.split(".")[0]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    return (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()


def imports(path: Path) -> list[tuple[int, str]]:
    """Every kidrate module a file imports, at any depth (imports inside functions count too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("kidrate"):
            if node.module == "kidrate":  # a room or module of the package, or create_app from its __init__
                found.extend((node.lineno, f"kidrate.{alias.name}" if _is_module(alias.name) else "kidrate")
                             for alias in node.names)
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append((node.lineno, "<relative>"))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names if alias.name.startswith("kidrate"))
    return found


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = room_of(module_name(path))
        assert here in MAY_IMPORT, f"{path}: not in any room of ARCHITECTURE.md"
        for line, target in imports(path):
            where = f"{path.relative_to(PROJECT_ROOT)}:{line}"
            if target == "<relative>":
                found.append(f"{where}: a relative import (write kidrate.… so the room shows)")
                continue
            there = room_of(target)
            if there != here and there not in MAY_IMPORT[here]:
                found.append(f"{where}: {here} imports {target} ({there})")
    return found


def test_no_room_imports_upwards_or_sideways():
    assert violations() == []


def test_the_rule_sees_an_import_that_goes_upwards(tmp_path, monkeypatch):
    """Not vacuous: a red-thread module importing a view is found."""
    package = tmp_path / "kidrate"
    (package / "red_thread").mkdir(parents=True)
    (package / "red_thread" / "bad.py").write_text("from kidrate.staff import cases\nfrom kidrate import vocab\n")
    (package / "vocab.py").write_text("from kidrate.red_thread import bad\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "PACKAGE", package)
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "PROJECT_ROOT", tmp_path)
    assert violations() == [
        "kidrate/red_thread/bad.py:1: red_thread imports kidrate.staff (staff)",
        "kidrate/vocab.py:1: core imports kidrate.red_thread (red_thread)",
    ]


def test_the_three_known_circles_are_gone():
    """extensions knew the blueprints, access knew a view, checks and handover needed each other."""
    def targets(relative: str) -> set[str]:
        return {t for _line, t in imports(PACKAGE / relative)}

    assert not {t for t in targets("extensions.py") if t.startswith(("kidrate.child", "kidrate.staff"))}
    assert not {t for t in targets("protection/access.py") if t.startswith("kidrate.staff")}
    assert "kidrate.red_thread.handover" not in targets("red_thread/checks.py")
