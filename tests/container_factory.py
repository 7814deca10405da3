"""Containers for tests, made on the fly: ZIPs (nested, password-protected with real ZipCrypto,
decompression bombs, too many members) and the paths of real TNEF and Outlook .msg files."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path


def zip_of(members: dict[str, bytes] | list[tuple[str, bytes]], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP with these members (a list allows repeated names and folders such as "a/b.pdf")."""
    items = members.items() if isinstance(members, dict) else members
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in items:
            archive.writestr(name, data)
    return buffer.getvalue()


def nested_zip(inner_name: str, inner: bytes, depth: int) -> bytes:
    """`inner` wrapped in `depth` ZIPs (depth 1: one ZIP holding it)."""
    data, name = inner, inner_name
    for level in range(depth):
        data, name = zip_of({name: data}), f"level{depth - level}.zip"
    return data


def bomb_zip(inflated_mb: int = 64) -> bytes:
    """A ZIP whose one member inflates from a few kB to `inflated_mb` MB of zeros."""
    return zip_of({"results.pdf": b"\0" * (inflated_mb * 1024 * 1024)})


def many_members_zip(count: int = 150) -> bytes:
    return zip_of({f"page_{i:03d}.txt": f"page {i}".encode() for i in range(count)})


# --- ZipCrypto (the traditional PKWARE encryption `zip -P` writes) -------------------------------

def _crc_byte(crc: int, byte: int) -> int:
    return zlib.crc32(bytes([byte]), crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


class _Keys:
    def __init__(self, password: bytes) -> None:
        self.k0, self.k1, self.k2 = 305419896, 591751049, 878082192
        for byte in password:
            self.update(byte)

    def update(self, byte: int) -> None:
        self.k0 = _crc_byte(self.k0, byte)
        self.k1 = ((self.k1 + (self.k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        self.k2 = _crc_byte(self.k2, (self.k1 >> 24) & 0xFF)

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            temp = (self.k2 | 2) & 0xFFFF
            out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
            self.update(byte)
        return bytes(out)


def encrypted_zip(members: dict[str, bytes], password: bytes = b"secret") -> bytes:
    """A ZIP whose members are stored encrypted with ZipCrypto; `zipfile` opens it with `pwd`."""
    local, central, offset = bytearray(), bytearray(), 0
    for name, data in members.items():
        crc = zlib.crc32(data)
        keys = _Keys(password)
        header = os.urandom(11) + bytes([crc >> 24])
        body = keys.encrypt(header) + keys.encrypt(data)
        encoded = name.encode()
        fields = struct.pack("<HHHHHIIIHH", 20, 0x1, 0, 0, 0, crc, len(body), len(data), len(encoded), 0)
        entry = b"PK\x03\x04" + fields + encoded + body
        central += (b"PK\x01\x02" + struct.pack("<HHHHHHIIIHHHHHII", 20, 20, 0x1, 0, 0, 0, crc, len(body),
                                                len(data), len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
        local += entry
        offset += len(entry)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central), offset, 0)
    return bytes(local + central + end)
