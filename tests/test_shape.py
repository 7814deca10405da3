"""The shape of the code stays as the reshaping left it: the pure core never imports the shell, and no
function grows past 60 lines. Read from the source with `ast`, no import needed."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mailbot"

# pure: parse -> documents -> checks -> workflow, and the time rules of schedule/
CORE = ("mailbot.parse", "mailbot.documents", "mailbot.checks", "mailbot.workflow", "mailbot.schedule.workdays",
        "mailbot.schedule.deadlines", "mailbot.schedule.retention", "mailbot.schedule.reminders",
        "mailbot.schedule.policy")
# I/O: the database and files, the mailbox, the outbox, template loading, the wiring and the faces
SHELL = ("mailbot.store", "mailbot.mailbox", "mailbot.outbox", "mailbot.replies", "mailbot.app", "mailbot.service",
         "mailbot.cli", "mailbot.daemon", "mailbot.schedule.jobs",
         "mailbot.config", "mailbot.rulebook.load", "mailbot.ocr")
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module this file imports (also inside functions), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_the_pure_core_imports_nothing_from_the_shell():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if not within(name, CORE):
            continue
        for line, imported in imports(path):
            if within(imported, SHELL) or imported == "mailbot.rulebook":   # the package __init__ loads files
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name} imports {imported}")
    assert not wrong, "the pure core imports the shell:\n" + "\n".join(wrong)


def test_the_rule_reads_real_imports():
    assert module_name(PACKAGE / "workflow" / "decide.py") == "mailbot.workflow.decide"
    found = dict((name, line) for line, name in imports(PACKAGE / "service.py"))
    assert "mailbot.store.apply" in found and within("mailbot.store.apply", SHELL)


def test_the_top_level_is_a_handful_of_files():
    """Code lives in the folders that follow a message; the top level keeps only the wiring."""
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "app.py", "clock.py", "config.py", "daemon.py", "errors.py",
                     "faults.py", "logsafe.py", "notify.py", "outages.py", "private_files.py", "resources.py",
                     "service.py"], loose


MIGRATIONS = PACKAGE / "store" / "migrations" / "versions"   # schema steps as Alembic writes them, not logic


def test_no_function_is_longer_than_60_lines():
    lengths = []
    for path in sorted(p for p in PACKAGE.rglob("*.py") if MIGRATIONS not in p.parents):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lengths.append((node.end_lineno - node.lineno + 1, f"{path.relative_to(PACKAGE.parent)}:"
                                                                   f"{node.lineno} {node.name}"))
    longest = max(lengths)
    assert longest[0] < MAX_FUNCTION_LINES, f"{longest[1]} is {longest[0]} lines; split it"
