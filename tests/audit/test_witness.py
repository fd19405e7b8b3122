"""Tests for the file witness: an append-only JSON-lines file of signed checkpoints outside the database."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shopshield.audit.signing import Checkpoint, CheckpointError, CheckpointSigner, Verifier
from shopshield.audit.witness import FileWitness, WitnessMissing, WitnessRefused

ORIGIN = "shop.example/audit"
START = datetime(2026, 11, 28, 8, 30, tzinfo=UTC)


def root(size: int) -> bytes:
    return hashlib.sha256(str(size).encode()).digest()


@pytest.fixture
def signer(tmp_path: Path) -> CheckpointSigner:
    return CheckpointSigner(tmp_path / "data" / "keys" / "audit-checkpoint.pem", ORIGIN)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data-witness" / "checkpoints.jsonl"


def signed(signer: CheckpointSigner, size: int) -> str:
    return signer.sign(Checkpoint(ORIGIN, size, root(size), START + timedelta(seconds=size)))


def verified_notes(witness: FileWitness, verifier: Verifier) -> list[tuple[int, bytes, str]]:
    """What ``audit verify`` reads from a witness: each note's size, root and time, signature checked."""
    return [(c.tree_size, c.root_hash, c.signed_at.isoformat()) for c in map(verifier.verify, witness.notes())]


def test_a_missing_file_is_not_an_empty_witness(path: Path) -> None:
    witness = FileWitness(path)
    with pytest.raises(WitnessMissing, match=f"no witness file at {path}"):
        witness.notes()
    assert not path.exists()
    path.parent.mkdir()
    path.write_bytes(b"")
    assert witness.notes() == []


def test_one_json_line_per_checkpoint(signer: CheckpointSigner, path: Path) -> None:
    witness = FileWitness(path)
    notes = [signed(signer, size) for size in (1, 5, 5, 9)]
    for size, note in zip((1, 5, 5, 9), notes, strict=True):
        witness.add(size, note)
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.split(b"\n")[:-1]
    assert len(lines) == 4
    assert [json.loads(line) for line in lines] == [
        {"tree_size": size, "note": note} for size, note in zip((1, 5, 5, 9), notes, strict=True)
    ]
    # One physical line each: the newlines inside a note are escaped.
    assert all(b"\n" not in line for line in lines)


def test_file_is_created_0600_in_a_new_directory(signer: CheckpointSigner, path: Path) -> None:
    assert not path.parent.exists()
    FileWitness(path).add(1, signed(signer, 1))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_each_add_is_fsynced_after_the_write(
    signer: CheckpointSigner, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        info = os.fstat(fd)
        if path.exists() and info.st_ino == path.stat().st_ino:
            synced.append(info.st_size)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    witness = FileWitness(path)
    witness.add(1, signed(signer, 1))
    first_size = path.stat().st_size
    witness.add(2, signed(signer, 2))
    # Synced once per checkpoint, each time with the new line already in the file.
    assert synced == [first_size, path.stat().st_size]


def test_refuses_a_smaller_tree_size(signer: CheckpointSigner, path: Path) -> None:
    witness = FileWitness(path)
    witness.add(10, signed(signer, 10))
    with pytest.raises(WitnessRefused, match="10"):
        witness.add(9, signed(signer, 9))
    witness.add(10, signed(signer, 10))  # the same size again is not going back in time
    witness.add(11, signed(signer, 11))
    with pytest.raises(WitnessRefused):
        witness.add(10, signed(signer, 10))
    assert len(witness.notes()) == 3  # a refused checkpoint is not written


def test_a_fresh_instance_reads_the_largest_size_from_the_file(signer: CheckpointSigner, path: Path) -> None:
    """A restart (or a restored database) cannot make the witness accept an older checkpoint."""
    writer = FileWitness(path)
    # Enough lines that the last one lies far beyond the tail window the witness reads.
    sizes = list(range(1, 120))
    for size in sizes:
        writer.add(size, signed(signer, size))
    assert path.stat().st_size > 3 * 8192

    fresh = FileWitness(path)
    with pytest.raises(WitnessRefused, match="119"):
        fresh.add(118, signed(signer, 118))
    with pytest.raises(WitnessRefused):
        FileWitness(path).add(1, signed(signer, 1))
    FileWitness(path).add(119, signed(signer, 119))
    FileWitness(path).add(200, signed(signer, 200))
    with pytest.raises(WitnessRefused, match="200"):
        FileWitness(path).add(150, signed(signer, 150))


def test_notes_oldest_first(signer: CheckpointSigner, path: Path) -> None:
    witness = FileWitness(path)
    notes = [signed(signer, size) for size in (3, 4, 8, 20)]
    for size, note in zip((3, 4, 8, 20), notes, strict=True):
        witness.add(size, note)
    assert witness.notes() == notes
    assert FileWitness(path).notes() == notes


def test_blank_lines_are_skipped(signer: CheckpointSigner, path: Path) -> None:
    witness = FileWitness(path)
    witness.add(1, signed(signer, 1))
    with path.open("ab") as handle:
        handle.write(b"\n  \n")
    witness.add(2, signed(signer, 2))
    assert witness.notes() == [signed(signer, 1), signed(signer, 2)]


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b'{"tree_size": 3, "note": "trunc', id="truncated"),
        pytest.param(b'{"tree_size": 3}', id="no-note"),
        pytest.param(b'["tree_size", 3]', id="array"),
        pytest.param(b'"a string"', id="string"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
def test_a_corrupted_line_raises(signer: CheckpointSigner, path: Path, line: bytes) -> None:
    witness = FileWitness(path)
    witness.add(1, signed(signer, 1))
    with path.open("ab") as handle:
        handle.write(line + b"\n")
    witness.add(2, signed(signer, 2))
    with pytest.raises(CheckpointError, match="line 2"):
        witness.notes()
    with pytest.raises(CheckpointError):
        verified_notes(witness, signer.verifier)


def test_verified_notes(signer: CheckpointSigner, path: Path) -> None:
    witness = FileWitness(path)
    for size in (2, 6):
        witness.add(size, signed(signer, size))
    assert verified_notes(witness, signer.verifier) == [
        (2, root(2), (START + timedelta(seconds=2)).isoformat()),
        (6, root(6), (START + timedelta(seconds=6)).isoformat()),
    ]


def test_verified_notes_of_an_empty_witness(signer: CheckpointSigner, path: Path) -> None:
    path.parent.mkdir()
    path.write_bytes(b"")
    assert verified_notes(FileWitness(path), signer.verifier) == []
    path.unlink()
    with pytest.raises(WitnessMissing):
        verified_notes(FileWitness(path), signer.verifier)


def test_verified_notes_rejects_a_note_signed_by_another_key(
    tmp_path: Path, signer: CheckpointSigner, path: Path
) -> None:
    intruder = CheckpointSigner(tmp_path / "elsewhere" / "intruder.pem", ORIGIN)
    witness = FileWitness(path)
    witness.add(2, signed(signer, 2))
    witness.add(3, signed(intruder, 3))
    with pytest.raises(CheckpointError):
        verified_notes(witness, signer.verifier)
    # Whoever holds the other key verifies their own note but not ours.
    with pytest.raises(CheckpointError):
        verified_notes(witness, intruder.verifier)


def test_verified_notes_rejects_an_edited_note(signer: CheckpointSigner, path: Path) -> None:
    witness = FileWitness(path)
    witness.add(2, signed(signer, 2))
    witness.add(4, signed(signer, 4))
    text = path.read_text()
    line = json.dumps({"tree_size": 4, "note": signed(signer, 4)}, ensure_ascii=False, separators=(",", ":"))
    assert line in text
    path.write_text(text.replace(line, line.replace("\\n4\\n", "\\n5\\n")))
    with pytest.raises(CheckpointError, match="does not verify"):
        verified_notes(witness, signer.verifier)


def test_two_writers_on_one_file_cannot_go_back(signer: CheckpointSigner, path: Path) -> None:
    """`serve` and a CLI `audit checkpoint` each have their own FileWitness over the same file."""
    first, second = FileWitness(path), FileWitness(path)
    first.add(10, signed(signer, 10))
    second.add(20, signed(signer, 20))
    with pytest.raises(WitnessRefused):
        first.add(15, signed(signer, 15))
    assert [signer.verifier.verify(n).tree_size for n in FileWitness(path).notes()] == [10, 20]
