"""``shorts.files.write_atomic``: a reader sees the old content or the new, never half."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from shorts.files import write_atomic


def test_text_and_bytes_are_written_whole_and_the_folder_is_made(tmp_path: Path) -> None:
    text = tmp_path / "new" / "report.md"
    raw = tmp_path / "answers.csv"

    assert write_atomic(text, "é\n") == text
    write_atomic(raw, b"row,prediction\r\n1,2\r\n", durable=True)

    assert text.read_bytes() == "é\n".encode()
    assert raw.read_bytes() == b"row,prediction\r\n1,2\r\n"  # newlines exactly as given
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["answers.csv", "new", "report.md"]


def test_a_rewrite_replaces_the_file_and_leaves_no_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("old")
    reader = path.open()  # a reader holding the old file keeps reading the old content

    write_atomic(path, "new")

    assert path.read_text() == "new"
    assert reader.read() == "old"
    reader.close()
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_write_keeps_the_old_content_and_removes_its_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("old")

    with pytest.raises(TypeError):
        write_atomic(path, 42)  # type: ignore[arg-type]

    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def _rewrite(path: Path, letter: str) -> None:
    for _ in range(200):
        write_atomic(path, letter * 100_000)


def test_concurrent_writers_and_a_reader_never_meet_half_a_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.txt"
    write_atomic(path, "a" * 100_000)
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_rewrite, args=(path, c)) for c in "bc"]
    for writer in writers:
        writer.start()
    while any(w.is_alive() for w in writers):
        content = path.read_text()
        assert len(content) == 100_000 and len(set(content)) == 1
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0

    assert path.read_text()[0] in "bc"
    assert [p.name for p in tmp_path.iterdir()] == ["shared.txt"]
