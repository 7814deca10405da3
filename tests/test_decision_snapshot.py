"""The reshaping's safety net: the decisions `replay --dry-run` prints for the shared corpus, the golden
mails and a scripted office workflow are the ones recorded in tests/decisions/*.jsonl.

A difference means the code now decides differently. When that is intended, rewrite the
snapshot (`python tests/decision_snapshot.py`) and explain each changed mail in the commit.
"""

from __future__ import annotations

import json

import pytest

from corpus import CORPUS
from decision_snapshot import SETS, SNAPSHOTS


def _differences(expected: dict, got: dict, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(got, dict):
        out = []
        for key in sorted(set(expected) | set(got)):
            out += _differences(expected.get(key, "<absent>"), got.get(key, "<absent>"), f"{path}.{key}")
        return out
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        return [d for i, (e, g) in enumerate(zip(expected, got)) for d in _differences(e, g, f"{path}[{i}]")]
    return [] if expected == got else [f"{path}: {json.dumps(expected)[:200]} -> {json.dumps(got)[:200]}"]


@pytest.mark.parametrize("name", sorted(SETS))
def test_decisions_are_the_recorded_ones(name, tmp_path):
    if name == "corpus" and not (CORPUS / "MANIFEST.tsv").is_file():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    expected = [json.loads(line) for line in (SNAPSHOTS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    got = [json.loads(line) for line in SETS[name](tmp_path)]
    assert len(got) == len(expected)
    report = []
    for want, have in zip(expected, got):
        assert want["mail"] == have["mail"]
        diffs = _differences(want, have)
        if diffs:
            report.append(f"{want['mail']}:\n    " + "\n    ".join(diffs[:8]))
    assert not report, f"{len(report)} decision(s) changed:\n" + "\n".join(report[:10])
