"""The file lists in each SOURCE.md: the tables ``| file | bytes | sha256 |`` and ``| file | sha256 |``.

SOURCE.md is the one record of what a data set folder must hold; nothing here keeps a copy of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nivesh_ml.errors import DataError, DatasetMissingError

__all__ = ["DATA_DIR_HINT", "ManifestEntry", "parse_manifest", "read_manifest"]

DATA_DIR_HINT = "point NIVESH_DATASETS_DIR or --data-dir at the folder holding the shipped data sets"
_LAYOUTS = {("file", "bytes", "sha256"), ("file", "sha256")}
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file SOURCE.md lists: its path relative to the data set folder, sha256 and size if given."""

    file: str
    sha256: str
    size: int | None


def read_manifest(name: str, folder: Path) -> dict[str, ManifestEntry]:
    """The files listed in ``folder/SOURCE.md``, by relative path; train and test tables merged."""
    if not folder.is_dir():
        raise DatasetMissingError(f"{name}: folder {folder} missing; {DATA_DIR_HINT}")
    source = folder / "SOURCE.md"
    if not source.is_file():
        raise DatasetMissingError(f"{name}: SOURCE.md missing under {folder}; {DATA_DIR_HINT}")
    try:
        markdown = source.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{name}: SOURCE.md under {folder} is not UTF-8 text; restore it") from None
    return parse_manifest(name, markdown)


def parse_manifest(name: str, markdown: str) -> dict[str, ManifestEntry]:
    """Every row of every checksum table in ``markdown``; a :class:`DataError` if there is none."""
    entries: dict[str, ManifestEntry] = {}
    for raw_header, rows in _tables(markdown.splitlines()):
        header = [cell.lower() for cell in raw_header]
        if tuple(header) not in _LAYOUTS:
            continue
        for cells in rows:
            _add(name, entries, _entry(name, header, cells))
    if not entries:
        raise DataError(f"{name}: SOURCE.md lists no file checksums; restore it from the shipped data sets")
    return entries


def _tables(lines: Sequence[str]) -> Iterator[tuple[list[str], list[list[str]]]]:
    """Each markdown table as (header cells, data rows), skipping the ``|---|`` separator."""
    block: list[list[str]] = []
    for line in [*lines, ""]:
        if line.strip().startswith("|"):
            block.append(_cells(line))
        elif block:
            yield block[0], [row for row in block[1:] if not _is_separator(row)]
            block = []


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _is_separator(row: list[str]) -> bool:
    return all(set(cell) <= {"-", ":"} and cell for cell in row)


def _entry(name: str, header: list[str], cells: list[str]) -> ManifestEntry:
    row = dict(zip(header, cells, strict=False))
    file, sha256, size = row.get("file", ""), row.get("sha256", "").lower(), row.get("bytes")
    if len(cells) != len(header) or not _safe_relative(file) or not _SHA256.fullmatch(sha256):
        raise DataError(f"{name}: SOURCE.md has a malformed checksum row {'|'.join(cells)!r}")
    return ManifestEntry(file=file, sha256=sha256, size=_size(name, file, size))


def _size(name: str, file: str, text: str | None) -> int | None:
    if text is None:
        return None
    digits = text.replace(",", "")
    if not digits.isdigit():
        raise DataError(f"{name}: SOURCE.md lists size {text!r} for {file}, not a byte count")
    return int(digits)


def _safe_relative(file: str) -> bool:
    path = PurePosixPath(file)
    return bool(file) and not path.is_absolute() and ".." not in path.parts


def _add(name: str, entries: dict[str, ManifestEntry], entry: ManifestEntry) -> None:
    """Add ``entry``; a file listed twice (train and test tables) must agree with itself."""
    known = entries.get(entry.file)
    if known is None:
        entries[entry.file] = entry
        return
    sizes = {known.size, entry.size} - {None}
    if known.sha256 != entry.sha256 or len(sizes) > 1:
        raise DataError(f"{name}: SOURCE.md lists {entry.file} twice with different checksums or sizes")
    entries[entry.file] = ManifestEntry(entry.file, entry.sha256, next(iter(sizes), None))
