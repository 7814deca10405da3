"""Every template the workflow can send, loaded and rendered at start for every configured
language, so a broken or mistyped template (above all an office's own wording in
`[templates] dir`) stops the start naming its file, instead of sending patients' messages to
Quarantine one by one at render time.

The messages mailbot can send are the packaged templates (`<audience>/<purpose>.<lang>.txt.j2`,
partials start with `_`). A template is rendered with a sample value for each name it uses; a
name that no packaged template of that message uses is an error, since the workflow never gives
it (StrictUndefined would fail on the first real message).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

from jinja2 import Environment, TemplateNotFound, TemplateSyntaxError, meta

from mailbot.errors import TemplateError
from mailbot.replies.render import Renderer

SUFFIX = ".txt.j2"
ALWAYS_GIVEN = {"case_ref"}  # added by Renderer.render to every context


class Sample:
    """Stands for any value in a context: prints as a word, iterates once, has every attribute."""

    def __str__(self) -> str:
        return "sample"

    def __iter__(self):
        return iter([Sample()])

    def __len__(self) -> int:
        return 1

    def __getattr__(self, name: str) -> "Sample":
        if name.startswith("__"):
            raise AttributeError(name)
        return Sample()

    def __getitem__(self, key) -> "Sample":
        return Sample()

    def __call__(self, *args, **kwargs) -> "Sample":
        return Sample()

    def __eq__(self, other) -> bool:
        return False

    def __hash__(self) -> int:
        return 0

    def __lt__(self, other) -> bool:
        return False

    __gt__ = __le__ = __ge__ = __lt__

    def __add__(self, other) -> "Sample":
        return Sample()

    __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __mod__ = __add__


def sendable_messages(packaged: Path) -> list[str]:
    """Purposes ("requestor/received") with a packaged template, partials excluded."""
    names = {p.relative_to(packaged).as_posix()[: -len(SUFFIX)] for p in packaged.rglob("*" + SUFFIX)}
    return sorted({n.rsplit(".", 1)[0] for n in names if not Path(n).name.startswith("_")})


def check_templates(renderer: Renderer, packaged: Path, override: Path | None,
                    languages: Iterable[str]) -> None:
    """Raise TemplateError naming the first file that cannot be sent. A set of files that passed
    is remembered by content for the life of the process (the check takes about a second)."""
    languages = tuple(languages)
    if override is not None:
        _check_override_names(override, packaged)
    fingerprint = _fingerprint([packaged] + ([override] if override else []), languages)
    if fingerprint in _PASSED:
        return
    used = _NamesUsed(renderer.env)
    for purpose in sendable_messages(packaged):
        given = set(ALWAYS_GIVEN)
        for source in packaged.glob(f"{purpose}.*{SUFFIX}"):
            given |= used.packaged(packaged, source.relative_to(packaged).as_posix())
        for language in languages:
            _check_one(renderer, used, f"{purpose}.{language}{SUFFIX}", purpose, language, given)
    _PASSED.add(fingerprint)


_PASSED: set[str] = set()


def _fingerprint(folders: list[Path], languages: tuple[str, ...]) -> str:
    digest = hashlib.sha256(repr(languages).encode())
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _check_one(renderer: Renderer, used_by: "_NamesUsed", name: str, purpose: str, language: str,
               given: set[str]) -> None:
    env = renderer.env
    try:
        filename = env.loader.get_source(env, name)[1]
    except TemplateNotFound:
        raise TemplateError(f"template {name} not found: language {language!r} is configured "
                            "but mailbot has no wording for it") from None
    try:
        used = used_by.resolved(name)
        unknown = sorted(used - given)
        if unknown:
            raise TemplateError(f"{filename}: uses {', '.join(unknown)}, which this message does not "
                                f"provide (it provides: {', '.join(sorted(given))})")
        renderer.text(purpose, language, {n: Sample() for n in used})
    except TemplateError:
        raise
    except TemplateSyntaxError as exc:
        where = exc.filename if exc.filename and not exc.filename.startswith("<") else filename
        raise TemplateError(f"{where}:{exc.lineno}: template syntax error: {exc.message}") from None
    except Exception as exc:  # noqa: BLE001 - whatever a template does wrong, name its file
        raise TemplateError(f"{filename}: cannot be rendered: {type(exc).__name__}: {exc}") from None


class _NamesUsed:
    """Context names a template reads, with those of the templates it includes or imports;
    each template parsed once."""

    def __init__(self, env: Environment):
        self.env = env
        self.memo: dict[tuple[str, str], set[str]] = {}

    def packaged(self, folder: Path, name: str) -> set[str]:
        return self._names(name, folder, "packaged")

    def resolved(self, name: str) -> set[str]:
        return self._names(name, None, "resolved")

    def _names(self, name: str, folder: Path | None, where: str, seen: frozenset[str] = frozenset()) -> set[str]:
        if (where, name) in self.memo:
            return self.memo[(where, name)]
        if folder is not None:
            filename = str(folder / name)
            source = (folder / name).read_text(encoding="utf-8")
        else:
            source, filename, _ = self.env.loader.get_source(self.env, name)
        tree = self.env.parse(source, name=name, filename=filename)
        used = set(meta.find_undeclared_variables(tree))
        for other in meta.find_referenced_templates(tree):
            if other is not None and other not in seen and other != name:
                used |= self._names(other, folder, where, seen | {name})
        self.memo[(where, name)] = used
        return used


def _check_override_names(override: Path, packaged: Path) -> None:
    """A file in the office's folder that replaces nothing is a typo that would go unnoticed."""
    if not override.is_dir():
        raise TemplateError(f"{override}: templates.dir: folder not found")
    for path in sorted(override.rglob("*")):
        if path.is_dir() or path.name.startswith(("_", ".")):
            continue
        relative = path.relative_to(override).as_posix()
        if not (packaged / relative).is_file():
            raise TemplateError(f"{path}: replaces no template of mailbot (names look like "
                                f"requestor/received.en{SUFFIX}; see {packaged})")
