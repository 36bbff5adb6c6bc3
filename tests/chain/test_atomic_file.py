"""write_atomic: exact modes whatever the umask; a failed write leaves the old file and no debris."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from chain.atomic_file import write_atomic
from chain.json_file import read_json_object


@pytest.mark.parametrize("umask,mode", [(0o000, 0o600), (0o077, 0o644), (0o022, 0o600)])
def test_mode_is_exact_whatever_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        path = write_atomic(tmp_path / "sub" / "f", b"data", mode)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode and path.read_bytes() == b"data"


def test_failed_replace_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_atomic(tmp_path / "f", b"old")

    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


class Bad(Exception):
    pass


def test_json_object_errors_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(Bad, match="no thing at"):
        read_json_object(tmp_path / "missing", Bad, "thing")
    (tmp_path / "a").write_text("{nope")
    with pytest.raises(Bad, match="not valid JSON"):
        read_json_object(tmp_path / "a", Bad, "thing")
    (tmp_path / "b").write_text("[1]")
    with pytest.raises(Bad, match="JSON object"):
        read_json_object(tmp_path / "b", Bad, "thing")
    (tmp_path / "c").write_text('{"k": 1}')
    assert read_json_object(tmp_path / "c", Bad, "thing") == {"k": 1}
