"""The files that ship inside the package: reply templates, the default rule files, and the
database migrations. Found through importlib.resources, so a wheel, a container or a plain
`pip install .` finds them as a checkout does (they are package data, see pyproject.toml)."""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

from mailbot.errors import ConfigError


def _packaged(*parts: str) -> Path:
    found = files("mailbot").joinpath(*parts)
    if not isinstance(found, Path):  # e.g. a zipped install: Jinja and Alembic need real folders
        raise ConfigError(f"mailbot's {'/'.join(parts)} folder is not on the file system ({found}); "
                          "install mailbot as an unpacked package (pip install)")
    return found


def templates_dir() -> Path:
    """The packaged reply templates, `<audience>/<purpose>.<language>.txt.j2`."""
    return _packaged("templates")


def default_rules_dir() -> Path:
    """The packaged default rule files, a starting point for an office's own `rules/` folder."""
    return _packaged("default_rules")


def migrations_dir() -> Path:
    """The Alembic environment and its revisions."""
    return _packaged("store", "migrations")


def copy_default_rules(target: Path) -> list[Path]:
    """Copy the default rule files into `target` (created), never over an existing file; the
    office then edits its copy. Returns the files written."""
    target.mkdir(parents=True, exist_ok=True)
    sources = sorted(default_rules_dir().glob("*.toml"))
    clashes = [target / s.name for s in sources if (target / s.name).exists()]
    if clashes:
        raise ConfigError(f"{clashes[0]} already exists; mailbot rules init writes only into a "
                          "folder without rule files (move the old ones away first)")
    written = []
    for source in sources:
        shutil.copyfile(source, target / source.name)
        written.append(target / source.name)
    return written
