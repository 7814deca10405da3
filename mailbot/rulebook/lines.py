"""Where a key is written in a TOML file: tomllib gives values, not line numbers.

`key_lines(text)` maps every key path (`('conditions', 'breast_cancer', 'aliases', 2)`,
`('specialists', 3, 'email')`) to its line; `line_of` falls back to the nearest enclosing key, so
a missing key points at its table. `dotted` writes a path the way problems show it.
"""

from __future__ import annotations

import re
import tomllib

Loc = tuple[str | int, ...]


def dotted(loc: Loc) -> str:
    """('specialists', 2, 'email') -> 'specialists[2].email' (indices count from 0)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'
            out += f".{text}" if out else text
    return out or "(top level)"


def line_of(lines: dict[Loc, int], loc: Loc) -> int:
    """The line of `loc`, or of its nearest enclosing key that is written in the file (else 1)."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def key_lines(text: str) -> dict[Loc, int]:
    """Map each key path written in a TOML text to the (1-based) line where it appears.

    Table headers (`[conditions.breast_cancer]`), array-of-tables occurrences (`[[specialists]]`
    -> ('specialists', 0), ('specialists', 1), ...), `key = value` lines (dotted keys too),
    inline-table keys and array elements (`('aliases', 2)`) are all recorded. The text must be
    valid TOML (parse it with tomllib first); on anything unexpected the scan stops early and
    returns what it found.
    """
    scanner = _Scanner(text)
    try:
        scanner.document()
    except (IndexError, ValueError):
        pass
    return scanner.lines


class _Scanner:
    """A structure-only TOML reader: it follows keys, tables and arrays, not values."""

    BARE = re.compile(r"[A-Za-z0-9_-]+")

    def __init__(self, text: str):
        self.s = text
        self.i = 0
        self.line = 1
        self.lines: dict[Loc, int] = {}
        self.arrays: dict[tuple[str, ...], int] = {}  # array-of-tables path -> current index

    # low-level movement
    def peek(self, k: int = 0) -> str:
        return self.s[self.i + k] if self.i + k < len(self.s) else ""

    def advance(self, n: int = 1) -> None:
        self.line += self.s.count("\n", self.i, self.i + n)
        self.i += n

    def skip(self, newlines: bool) -> None:
        while self.i < len(self.s):
            ch = self.peek()
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.advance()
            elif ch == "#":
                end = self.s.find("\n", self.i)
                self.advance((end if end >= 0 else len(self.s)) - self.i)
            else:
                return

    def record(self, path: Loc, line: int) -> None:
        self.lines.setdefault(path, line)

    # grammar
    def document(self) -> None:
        table: Loc = ()
        while True:
            self.skip(newlines=True)
            if self.i >= len(self.s):
                return
            if self.peek() == "[":
                table = self.header()
            else:
                self.keyval(table)

    def header(self) -> Loc:
        line = self.line
        double = self.peek(1) == "["
        self.advance(2 if double else 1)
        self.skip(newlines=False)
        keys = self.key()
        self.advance(2 if double else 1)
        path = self.resolve(keys)
        if double:
            index = self.arrays.get(tuple(keys), -1) + 1
            self.arrays[tuple(keys)] = index
            for end in range(1, len(path)):
                self.record(path[:end], line)
            path = (*path, index)
        for end in range(1, len(path) + 1):
            self.record(path[:end], line)
        return path

    def resolve(self, keys: list[str]) -> Loc:
        """Insert the current index after every prefix that is an array of tables."""
        path: list[str | int] = []
        for n, key in enumerate(keys):
            path.append(key)
            prefix = tuple(keys[: n + 1])
            if prefix in self.arrays and n + 1 < len(keys):
                path.append(self.arrays[prefix])
        return tuple(path)

    def key(self) -> list[str]:
        parts = []
        while True:
            self.skip(newlines=False)
            ch = self.peek()
            if ch in "\"'":
                parts.append(self.string())
            else:
                match = self.BARE.match(self.s, self.i)
                if not match:
                    raise ValueError("key expected")
                parts.append(match.group())
                self.advance(match.end() - self.i)
            self.skip(newlines=False)
            if self.peek() != ".":
                return parts
            self.advance()

    def keyval(self, table: Loc) -> None:
        line = self.line
        path = (*table, *self.key())
        for end in range(len(table) + 1, len(path) + 1):
            self.record(path[:end], line)
        self.skip(newlines=False)
        self.advance()  # '='
        self.skip(newlines=False)
        self.value(path)

    def value(self, path: Loc) -> None:
        ch = self.peek()
        if ch == "[":
            self.advance()
            index = 0
            while True:
                self.skip(newlines=True)
                if self.peek() == "]":
                    self.advance()
                    return
                self.record((*path, index), self.line)
                self.value((*path, index))
                index += 1
                self.skip(newlines=True)
                if self.peek() == ",":
                    self.advance()
        elif ch == "{":
            self.advance()
            while True:
                self.skip(newlines=False)
                if self.peek() == "}":
                    self.advance()
                    return
                self.keyval(path)
                self.skip(newlines=False)
                if self.peek() == ",":
                    self.advance()
        elif ch in "\"'":
            self.string()
        else:
            match = re.compile(r"[^,\]}\s#]+(?:[ T][0-9:.+\-Z]+)?").match(self.s, self.i)
            if not match:
                raise ValueError("value expected")
            self.advance(match.end() - self.i)

    def string(self) -> str:
        quote = self.peek()
        if self.s.startswith(quote * 3, self.i):
            end = self.s.find(quote * 3, self.i + 3)
            while quote == '"' and end > 0 and _escaped(self.s, end):
                end = self.s.find(quote * 3, end + 1)
            while self.s.startswith(quote, end + 3):  # up to two quotes may close the content
                end += 1
            start = self.i + 3
            self.advance(end + 3 - self.i)
            return self.s[start:end]
        end = self.i + 1
        while self.s[end] != quote or (quote == '"' and _escaped(self.s, end)):
            end += 1
        raw = self.s[self.i + 1 : end]
        self.advance(end + 1 - self.i)
        if quote == '"' and "\\" in raw:
            return tomllib.loads(f'k = "{raw}"')["k"]
        return raw


def _escaped(s: str, index: int) -> bool:
    """True when the character at `index` is preceded by an odd number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and s[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1
