from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from nivesh_ml.data.versioning import file_sha256, files_version, frame_version


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    payload = bytes(range(256)) * 10_000  # spans several read chunks
    path.write_bytes(payload)
    assert file_sha256(path) == hashlib.sha256(payload).hexdigest()


def test_files_version_depends_on_content_and_name_not_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("alpha")
    b.write_text("beta")
    first = files_version([a, b], root=tmp_path)
    assert files_version([b, a], root=tmp_path) == first
    b.write_text("beta!")
    assert files_version([a, b], root=tmp_path) != first
    b.rename(tmp_path / "c.txt")
    assert files_version([a, tmp_path / "c.txt"], root=tmp_path) not in {first}


def test_frame_version_sees_values_and_dtypes_but_not_the_index() -> None:
    frame = pd.DataFrame({"user_id": ["U1", "U2"], "amount": [10.0, 20.5]})
    version = frame_version(frame)
    assert frame_version(frame.set_axis([7, 9])) == version
    assert frame_version(frame.assign(amount=[10.0, 20.6])) != version
    assert frame_version(frame.astype({"amount": "float32"})) != version
