"""DirectoryTransport: one private .eml (+ .json sidecar) per message id, written atomically."""

from __future__ import annotations

import json
import stat

from mailbot.outbox.directory import DirectoryTransport, safe_message_id

RAW = b"From: so@example.org\r\nTo: p@example.com\r\nSubject: [SO-2026-00001] Hello\r\n\r\nBody\r\n"


def send(transport, message_id="<abc.123@example.org>", raw=RAW, recipients=("p@example.com",)):
    transport.send(sender="so@example.org", recipients=list(recipients), message_id=message_id, raw=raw)


def test_writes_eml_and_sidecar_private(tmp_path):
    out = tmp_path / "outbox"
    send(DirectoryTransport(out), recipients=["p@example.com", "dr@example.net"])
    (eml,) = out.glob("*.eml")
    assert eml.name.endswith("-abc.123@example.org.eml")
    assert eml.read_bytes() == RAW
    sidecar = json.loads(eml.with_suffix(".json").read_text())
    assert sidecar["sender"] == "so@example.org"
    assert sidecar["recipients"] == ["p@example.com", "dr@example.net"]
    assert sidecar["message_id"] == "<abc.123@example.org>"
    for path in (eml, eml.with_suffix(".json")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert sorted(p.name for p in out.iterdir()) == sorted([eml.name, eml.with_suffix(".json").name])


def test_same_message_id_twice_writes_once(tmp_path):
    transport = DirectoryTransport(tmp_path)
    send(transport)
    send(transport)
    send(DirectoryTransport(tmp_path))  # also across restarts
    assert len(list(tmp_path.glob("*.eml"))) == 1
    assert len(list(tmp_path.glob("*.json"))) == 1
    send(transport, message_id="<other@example.org>")
    assert len(list(tmp_path.glob("*.eml"))) == 2


def test_file_names_are_time_ordered(tmp_path):
    transport = DirectoryTransport(tmp_path)
    for n in range(5):
        send(transport, message_id=f"<m{n}@example.org>")
    names = sorted(p.name for p in tmp_path.glob("*.eml"))
    assert [n.split("-", 1)[1] for n in names] == [f"m{n}@example.org.eml" for n in range(5)]


def test_unsafe_message_ids_stay_inside_the_directory(tmp_path):
    transport = DirectoryTransport(tmp_path / "out")
    for bad in ("<../../etc/passwd>", "</abs/path@x>", "<a b*?[c]@x>", "<.hidden@x>", "<" + "x" * 500 + ">"):
        send(transport, message_id=bad)
    files = list((tmp_path / "out").glob("*.eml"))
    assert len(files) == 5
    assert all(f.parent == tmp_path / "out" and len(f.name) < 200 for f in files)
    assert list(tmp_path.iterdir()) == [tmp_path / "out"]
    assert safe_message_id("<a/b@x>") != safe_message_id("<a_b@x>")  # no collisions


def test_open_transport_picks_directory_from_config(tmp_path):
    from mailbot.config import Config
    from mailbot.outbox import open_transport

    config = Config.model_validate({
        "office": {"address": "so@example.org"},
        "maildir": {"path": "inbox"},
        "outbox": {"dir": "var/outbox"},
        "payment": {"beneficiary": "H", "iban": "IT60X0542811101000000123456", "bic": "BPMOIT22XXX"},
        "base_dir": tmp_path,
    })
    transport = open_transport(config)
    assert isinstance(transport, DirectoryTransport) and transport.path == tmp_path / "var" / "outbox"
    send(transport)
    assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == 1


def _dead_pid() -> int:
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_sidecar_left_alone_by_a_crash_is_completed_by_the_retry(tmp_path):
    # what a crash between the two renames leaves: the .json of the message, no .eml
    stem = "20261130T101500000000Z-abc.123@example.org"
    (tmp_path / f"{stem}.json").write_text('{"message_id": "<abc.123@example.org>"}\n')
    send(DirectoryTransport(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{stem}.eml", f"{stem}.json"]
    assert (tmp_path / f"{stem}.eml").read_bytes() == RAW
    assert json.loads((tmp_path / f"{stem}.json").read_text())["recipients"] == ["p@example.com"]


def test_sweep_removes_temporary_files_of_dead_writers_and_old_lone_sidecars(tmp_path):
    import os
    import time
    transport = DirectoryTransport(tmp_path)
    send(transport)
    dead = tmp_path / f".tmp-{_dead_pid()}-0123abcd"
    live = tmp_path / f".tmp-{os.getpid()}-4567ef01"
    lone_old = tmp_path / "20200101T000000000000Z-gone@example.org.json"
    lone_young = tmp_path / "20261130T000000000000Z-young@example.org.json"
    for path in (dead, live, lone_old, lone_young):
        path.write_bytes(b"partial")
    old = time.time() - 7200
    os.utime(lone_old, (old, old))
    assert transport.sweep() == 2
    assert not dead.exists() and not lone_old.exists() and live.exists() and lone_young.exists()
    assert len(list(tmp_path.glob("*.eml"))) == 1 and len(list(tmp_path.glob("*-abc.123@example.org.json"))) == 1
