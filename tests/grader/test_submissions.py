"""Finding each student's notebook in a folder or an LMS zip, and refusing what is unsafe."""

from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_notebook

from grader.submissions import MAX_NOTEBOOK_BYTES, SubmissionsError, collect, stage

LAB = "lab01_data"
NOTEBOOK = nbformat.writes(new_notebook()).encode()


def zipped(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def students(found) -> list[str]:
    return [s.student for s in found]


def test_a_folder_in_either_layout(tmp_path: Path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / f"{LAB}.ipynb").write_bytes(NOTEBOOK)
    (tmp_path / "bob" / LAB).mkdir(parents=True)
    (tmp_path / "bob" / LAB / f"{LAB}.ipynb").write_bytes(NOTEBOOK)
    (tmp_path / "bob" / LAB / ".ipynb_checkpoints").mkdir()
    (tmp_path / "bob" / LAB / ".ipynb_checkpoints" / f"{LAB}.ipynb").write_bytes(b"old")
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "lab02_model.ipynb").write_bytes(NOTEBOOK)  # another lab: not this one's

    found, skipped = collect(tmp_path, LAB)

    assert students(found) == ["alice", "bob"]
    assert skipped == []


def test_a_canvas_download_names_students_by_canvas_id(tmp_path: Path):
    archive = zipped(
        tmp_path,
        {
            f"lovelaceada_1234_98765_{LAB}.ipynb": NOTEBOOK,
            f"hopper_LATE_77_5555_{LAB}-1.ipynb": NOTEBOOK,
            "hopper_77_5555_notes.txt": b"not a notebook",
        },
    )
    found, skipped = collect(archive, LAB)
    assert students(found) == ["1234", "77"]
    assert skipped == []


def test_a_moodle_download_and_a_zipped_folder(tmp_path: Path):
    archive = zipped(
        tmp_path,
        {
            f"Ada Lovelace_4321_assignsubmission_file_/{LAB}.ipynb": NOTEBOOK,
            f"export/grace/{LAB}/{LAB}.ipynb": NOTEBOOK,
        },
    )
    found, _ = collect(archive, LAB)
    assert students(found) == ["4321", "grace"]


def test_unsafe_or_unusable_members_are_skipped_with_a_reason(tmp_path: Path):
    archive = zipped(
        tmp_path,
        {
            f"../../evil/{LAB}.ipynb": NOTEBOOK,
            f"/abs/{LAB}.ipynb": NOTEBOOK,
            f"bad name!/{LAB}.ipynb": NOTEBOOK,
            f"big/{LAB}.ipynb": b"x" * (MAX_NOTEBOOK_BYTES + 1),
            f"ok/{LAB}.ipynb": NOTEBOOK,
            f"again/ok/{LAB}.ipynb": NOTEBOOK,
        },
    )
    found, skipped = collect(archive, LAB)
    assert students(found) == ["ok"]
    reasons = "\n".join(skipped)
    assert reasons.count("a path outside the submission folder") == 2
    assert "'bad name!' is not a usable student id" in reasons
    assert "larger than 64 MiB" in reasons
    assert "ok already has" in reasons
    assert not (tmp_path.parent / "evil").exists()


@pytest.mark.parametrize("content", [b"not a zip at all", b"PK\x03\x04 truncated"])
def test_a_file_that_is_not_a_zip_gets_one_line(tmp_path: Path, content: bytes):
    path = tmp_path / "export.zip"
    path.write_bytes(content)
    with pytest.raises(SubmissionsError, match="neither a folder nor a zip file|damaged zip"):
        collect(path, LAB)


def test_a_zip_with_corrupted_contents_gets_one_line(tmp_path: Path):
    archive = zipped(tmp_path, {f"alice/{LAB}.ipynb": NOTEBOOK})
    data = bytearray(archive.read_bytes())
    start = data.index(NOTEBOOK[:20])
    data[start : start + 20] = b"X" * 20  # the central directory still reads; the member's CRC no longer matches
    archive.write_bytes(bytes(data))
    with pytest.raises(SubmissionsError, match="is a damaged zip .*download the LMS export again"):
        collect(archive, LAB)


def test_a_missing_path_gets_one_line(tmp_path: Path):
    with pytest.raises(SubmissionsError, match="does not exist"):
        collect(tmp_path / "nowhere", LAB)


def test_an_invalid_notebook_is_found_and_named(tmp_path: Path):
    (tmp_path / "dan").mkdir()
    (tmp_path / "dan" / f"{LAB}.ipynb").write_bytes(b"{ broken")
    found, _ = collect(tmp_path, LAB)
    assert found[0].problem().startswith(f"dan/{LAB}.ipynb is not a valid notebook")
    (tmp_path / "dan" / f"{LAB}.ipynb").write_bytes(NOTEBOOK)
    assert collect(tmp_path, LAB)[0][0].problem() is None


def test_staging_copies_and_never_touches_the_originals(tmp_path: Path):
    source = tmp_path / "in"
    (source / "alice").mkdir(parents=True)
    original = source / "alice" / f"{LAB}.ipynb"
    original.write_bytes(NOTEBOOK)
    found, _ = collect(source, LAB)

    stage(found, tmp_path / "submitted", LAB)
    staged = tmp_path / "submitted" / "alice" / LAB / f"{LAB}.ipynb"
    staged.write_bytes(b"changed by grading")

    assert original.read_bytes() == NOTEBOOK
    stage(found, tmp_path / "submitted", LAB)  # a regrade replaces the staged copy
    assert staged.read_bytes() == NOTEBOOK
