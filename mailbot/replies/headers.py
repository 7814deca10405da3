"""A Subject header folded by hand, so the case ref always opens its first line. Pure.

The standard library's folder moves a subject that does not fit on the `Subject:` line to the
next line as a whole (`Subject:\\n [SO-2026-00003] Documenti mancanti ...`), and some mail clients
then show it with a leading space, or cut it before the ref. Here the ref stays on the first line
(`Subject: [SO-2026-00003] Documenti`), the rest is folded at spaces; text that is not plain
ASCII goes in RFC 2047 encoded words (UTF-8, Q encoding), each whole character inside one word.
"""

from __future__ import annotations

LINE = 78            # the recommended length of a header line (RFC 5322 2.1.1)
_WORD_MAX = 75       # the longest encoded word (RFC 2047 2)
_PREFIX, _SUFFIX = "=?utf-8?q?", "?="
_Q_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/")


class FoldedSubject(str):
    """A subject that folds itself: `EmailMessage` uses an object with `name` and `fold` as given."""

    name = "Subject"

    def fold(self, *, policy) -> str:
        return fold_subject(str(self), policy.linesep)


def fold_subject(subject: str, linesep: str = "\n") -> str:
    """`Subject: <subject>` folded as described above, ending with `linesep`."""
    words = subject.split()
    if all(_plain(w) for w in words):
        return _fold_plain(words, linesep)
    head: list[str] = []
    while words and _plain(words[0]) and len("Subject: " + " ".join([*head, words[0]])) <= LINE - 20:
        head.append(words.pop(0))
    lines = ["Subject:" + "".join(" " + w for w in head)]
    room = LINE - len(lines[0]) - 1
    same_line = room >= len(_PREFIX) + len(_SUFFIX) + 9     # room for a few encoded characters
    encoded = _encoded_words(" ".join(words), room if same_line else _WORD_MAX)
    if same_line:
        lines[0] += " " + encoded.pop(0)
    lines += [" " + w for w in encoded]
    return linesep.join(lines) + linesep


def _plain(word: str) -> bool:
    return word.isascii() and "=?" not in word


def _fold_plain(words: list[str], linesep: str) -> str:
    lines = ["Subject:"]
    for word in words:
        if lines[-1] == "Subject:" or len(lines[-1]) + 1 + len(word) <= LINE:
            lines[-1] += " " + word
        else:
            lines.append(" " + word)
    return linesep.join(lines) + linesep


def _encoded_words(text: str, first_room: int) -> list[str]:
    """`text` as Q-encoded words, the first at most `first_room` long, the others at most 75;
    the spaces are inside the words (decoders drop the folding space between two of them)."""
    out: list[str] = []
    chunk, room = "", min(first_room, _WORD_MAX)
    for ch in text:
        piece = _q(ch)
        if chunk and len(_PREFIX) + len(chunk) + len(piece) + len(_SUFFIX) > room:
            out.append(_PREFIX + chunk + _SUFFIX)
            chunk, room = "", _WORD_MAX
        chunk += piece
    out.append(_PREFIX + chunk + _SUFFIX)
    return out


def _q(ch: str) -> str:
    if ch == " ":
        return "_"
    if ch in _Q_SAFE:
        return ch
    return "".join(f"={b:02X}" for b in ch.encode("utf-8"))
