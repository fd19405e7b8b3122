"""Tests for checkpoints (c2sp.org/tlog-checkpoint) signed as notes (c2sp.org/signed-note) with Ed25519.

The interoperability tests use the published example of Go's golang.org/x/mod/sumdb/note package
(the "PeterNeumann" key and note), the reference implementation the C2SP signed-note spec grew from.
"""

from __future__ import annotations

import base64
import hashlib
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shopshield.audit.signing import (
    Checkpoint,
    CheckpointError,
    CheckpointSigner,
    Verifier,
    parse_body,
    verifier_key,
)

ORIGIN = "shop.example/audit"
ROOT = hashlib.sha256(b"a root hash").digest()
ROOT_B64 = base64.b64encode(ROOT).decode()
SIGNED_AT = datetime(2026, 11, 28, 8, 30, 0, 123456, tzinfo=UTC)
DASH = "\u2014 "


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def write_key(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pem)


def split_note(note: str) -> tuple[str, str, bytes]:
    """(body, key name, key id || signature) of a note with exactly one signature line."""
    body, sep, signature_line = note.partition("\n\n")
    assert sep and signature_line.endswith("\n") and signature_line.count("\n") == 1
    assert signature_line.startswith(DASH)
    name, _, encoded = signature_line[len(DASH) : -1].rpartition(" ")
    return body + "\n", name, base64.b64decode(encoded, validate=True)


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "audit-checkpoint.pem"


@pytest.fixture
def signer(key_path: Path) -> CheckpointSigner:
    return CheckpointSigner(key_path, ORIGIN)


@pytest.fixture
def checkpoint() -> Checkpoint:
    return Checkpoint(ORIGIN, 1234, ROOT, SIGNED_AT)


@pytest.fixture
def note(signer: CheckpointSigner, checkpoint: Checkpoint) -> str:
    return signer.sign(checkpoint)


# --- Round trip and layout ---------------------------------------------------------------------


def test_sign_then_verify(signer: CheckpointSigner, checkpoint: Checkpoint, note: str) -> None:
    assert signer.verifier.verify(note) == checkpoint
    assert Verifier.parse(signer.verifier_key).verify(note) == checkpoint


def test_body_layout(checkpoint: Checkpoint) -> None:
    assert checkpoint.body() == f"{ORIGIN}\n1234\n{ROOT_B64}\ntime 2026-11-28T08:30:00.123456Z\n"


def test_body_time_is_utc_with_six_fraction_digits() -> None:
    east = datetime(2026, 11, 28, 16, 30, tzinfo=timezone(timedelta(hours=8)))
    assert Checkpoint(ORIGIN, 1, ROOT, east).body().endswith("\ntime 2026-11-28T08:30:00.000000Z\n")


def test_note_layout(signer: CheckpointSigner, checkpoint: Checkpoint, note: str) -> None:
    body, name, blob = split_note(note)
    assert body == checkpoint.body()
    assert note == f"{body}\n{DASH}{ORIGIN} {base64.b64encode(blob).decode()}\n"
    assert name == ORIGIN
    assert len(blob) == 4 + 64
    assert blob[:4] == signer.verifier.key_id


def test_signature_line_starts_with_em_dash_and_space(note: str) -> None:
    signature_line = note.split("\n")[-2]
    assert signature_line.encode()[:4] == b"\xe2\x80\x94 "  # U+2014 in UTF-8, then a space
    assert note.endswith("\n") and not note.endswith("\n\n")


def test_key_id_is_sha256_of_name_newline_type_and_key(signer: CheckpointSigner) -> None:
    raw = signer.verifier.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    expected = hashlib.sha256(ORIGIN.encode() + b"\n" + b"\x01" + raw).digest()[:4]
    assert signer.verifier.key_id == expected
    assert len(raw) == 32


def test_verifier_key_string(signer: CheckpointSigner) -> None:
    raw = signer.verifier.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    text = signer.verifier_key
    assert text == verifier_key(ORIGIN, signer.verifier.public)
    name, hex_id, encoded = text.split("+", 2)
    assert name == ORIGIN
    assert hex_id == signer.verifier.key_id.hex() and len(hex_id) == 8
    assert base64.b64decode(encoded, validate=True) == b"\x01" + raw


def test_verifier_parse_round_trip(signer: CheckpointSigner) -> None:
    parsed = Verifier.parse(signer.verifier_key)
    assert parsed.name == ORIGIN
    assert parsed.key_id == signer.verifier.key_id
    assert parsed.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == (
        signer.verifier.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    assert Verifier.parse(f"  {signer.verifier_key}\n").key_id == parsed.key_id


def _other_key_id(text: str) -> str:
    name, hex_id, encoded = text.split("+", 2)
    flipped = f"{int(hex_id, 16) ^ 1:08x}"
    return f"{name}+{flipped}+{encoded}"


def _key_type(text: str, type_byte: bytes, length: int = 32) -> str:
    name, hex_id, encoded = text.split("+", 2)
    raw = base64.b64decode(encoded)
    return f"{name}+{hex_id}+{base64.b64encode(type_byte + raw[1 : 1 + length]).decode()}"


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(_other_key_id, id="wrong-key-id"),
        pytest.param(lambda t: "other.example/log" + t[t.index("+") :], id="other-name"),
        pytest.param(lambda t: _key_type(t, b"\x02"), id="ecdsa-type-byte"),
        pytest.param(lambda t: _key_type(t, b"\x04"), id="cosignature-type-byte"),
        pytest.param(lambda t: _key_type(t, b"\x01", 31), id="short-key"),
        pytest.param(lambda t: t + "AAAA", id="long-key"),
        pytest.param(lambda t: t.rsplit("+", 1)[0], id="two-parts"),
        pytest.param(lambda t: t + "+extra", id="four-parts"),
        pytest.param(lambda t: t[:-4] + "!!!!", id="not-base64"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: "garbage", id="garbage"),
        pytest.param(lambda t: "a+zzzzzzzz+AQ==", id="garbage-parts"),
    ],
)
def test_verifier_parse_rejects(signer: CheckpointSigner, mangle: Callable[[str], str]) -> None:
    with pytest.raises(CheckpointError):
        Verifier.parse(mangle(signer.verifier_key))


# --- Rejection ---------------------------------------------------------------------------------


def test_every_body_byte_is_signed(signer: CheckpointSigner, checkpoint: Checkpoint, note: str) -> None:
    body = checkpoint.body()
    for position in range(len(body)):
        # XOR 1 never produces a newline from a body character, so the note keeps its shape.
        tampered = note[:position] + chr(ord(note[position]) ^ 1) + note[position + 1 :]
        with pytest.raises(CheckpointError):
            signer.verifier.verify(tampered)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda b: b.replace("\n1234\n", "\n1235\n"), id="size"),
        pytest.param(lambda b: b.replace("\n1234\n", "\n01234\n"), id="size-leading-zero"),
        pytest.param(lambda b: b.replace(".123456Z", ".123457Z"), id="time"),
        pytest.param(lambda b: b.replace(ORIGIN, ORIGIN + "2"), id="origin"),
        pytest.param(lambda b: b + "extension\n", id="added-line"),
        pytest.param(lambda b: b.replace("\ntime ", "\nx\ntime "), id="inserted-line"),
    ],
)
def test_edited_body_is_rejected(signer: CheckpointSigner, note: str, edit: Callable[[str], str]) -> None:
    body, _, rest = note.partition("\n\n")
    with pytest.raises(CheckpointError):
        signer.verifier.verify(edit(body + "\n")[:-1] + "\n\n" + rest)


def test_every_signature_byte_is_checked(signer: CheckpointSigner, note: str) -> None:
    body, name, blob = split_note(note)
    for position in range(len(blob)):
        changed = bytearray(blob)
        changed[position] ^= 0x01
        tampered = f"{body}\n{DASH}{name} {base64.b64encode(bytes(changed)).decode()}\n"
        with pytest.raises(CheckpointError):
            signer.verifier.verify(tampered)


@pytest.mark.parametrize(
    "tampered",
    [
        pytest.param(lambda n: n.replace("\n\n", "\n"), id="no-blank-line"),
        pytest.param(lambda n: n.partition("\n\n")[0] + "\n\n", id="no-signature"),
        pytest.param(lambda n: n.replace(DASH, "- "), id="hyphen-not-em-dash"),
        pytest.param(lambda n: n.replace(DASH, "\u2014"), id="no-space-after-dash"),
        pytest.param(lambda n: n[:-3] + "!!\n", id="signature-not-base64"),
        pytest.param(lambda n: n.replace("\n", "\r\n"), id="crlf"),
    ],
)
def test_malformed_notes_are_rejected(signer: CheckpointSigner, note: str, tampered: Callable[[str], str]) -> None:
    with pytest.raises(CheckpointError):
        signer.verifier.verify(tampered(note))


def test_another_key_is_rejected(tmp_path: Path, signer: CheckpointSigner, checkpoint: Checkpoint) -> None:
    other = CheckpointSigner(tmp_path / "other.pem", ORIGIN)
    assert other.verifier.key_id != signer.verifier.key_id
    with pytest.raises(CheckpointError, match="no signature by"):
        signer.verifier.verify(other.sign(checkpoint))
    with pytest.raises(CheckpointError):
        other.verifier.verify(signer.sign(checkpoint))


def test_another_key_claiming_our_key_id_is_rejected(tmp_path: Path, signer: CheckpointSigner) -> None:
    forger = Ed25519PrivateKey.generate()
    body = Checkpoint(ORIGIN, 99, ROOT, SIGNED_AT).body()
    blob = signer.verifier.key_id + forger.sign(body.encode())
    forged = f"{body}\n{DASH}{ORIGIN} {base64.b64encode(blob).decode()}\n"
    with pytest.raises(CheckpointError, match="does not verify"):
        signer.verifier.verify(forged)


def test_a_key_of_another_name_is_rejected(key_path: Path, checkpoint: Checkpoint) -> None:
    """The same private key under another origin has another key id and signs another note."""
    ours = CheckpointSigner(key_path, ORIGIN)
    renamed = CheckpointSigner(key_path, "elsewhere.example/audit")
    assert renamed.verifier.key_id != ours.verifier.key_id
    with pytest.raises(CheckpointError):
        ours.verifier.verify(renamed.sign(Checkpoint("elsewhere.example/audit", 1234, ROOT, SIGNED_AT)))


def test_two_sizes_both_verify(signer: CheckpointSigner) -> None:
    first = Checkpoint(ORIGIN, 7, hashlib.sha256(b"7").digest(), SIGNED_AT)
    second = Checkpoint(ORIGIN, 8, hashlib.sha256(b"8").digest(), SIGNED_AT + timedelta(seconds=1))
    notes = [signer.sign(first), signer.sign(second)]
    assert [signer.verifier.verify(n) for n in notes] == [first, second]
    assert notes[0] != notes[1]


def test_size_zero_and_large_sizes(signer: CheckpointSigner) -> None:
    for size in (0, 1, 2**31, 2**63 - 1):
        checkpoint = Checkpoint(ORIGIN, size, ROOT, SIGNED_AT)
        assert signer.verifier.verify(signer.sign(checkpoint)) == checkpoint


# --- The key file ------------------------------------------------------------------------------


def test_key_file_created_0600_and_reused(key_path: Path, checkpoint: Checkpoint) -> None:
    assert not key_path.exists()
    first = CheckpointSigner(key_path, ORIGIN)
    assert key_path.is_file()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    content = key_path.read_bytes()
    assert content.startswith(b"-----BEGIN PRIVATE KEY-----\n")  # PKCS#8 PEM, unencrypted

    second = CheckpointSigner(key_path, ORIGIN)
    assert key_path.read_bytes() == content
    assert second.verifier_key == first.verifier_key
    assert second.verifier.verify(first.sign(checkpoint)) == checkpoint
    # Ed25519 is deterministic: the same key signs the same body to the same bytes.
    assert second.sign(checkpoint) == first.sign(checkpoint)


def test_existing_key_file_is_loaded(key_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    write_key(key_path, key)
    assert CheckpointSigner(key_path, ORIGIN).verifier_key == verifier_key(ORIGIN, key.public_key())


def test_key_file_of_another_algorithm_is_refused(key_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key_path.parent.mkdir(parents=True)
    key_path.write_bytes(pem)
    with pytest.raises(CheckpointError, match="Ed25519"):
        CheckpointSigner(key_path, ORIGIN)


# --- parse_body (c2sp.org/tlog-checkpoint note text) -------------------------------------------


def test_parse_body_round_trip(checkpoint: Checkpoint) -> None:
    assert parse_body(checkpoint.body()) == checkpoint


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f"{ORIGIN}\n007\n{ROOT_B64}\ntime 2026-11-28T08:30:00.123456Z\n", id="leading-zeros"),
        pytest.param(f"{ORIGIN}\n-1\n{ROOT_B64}\ntime 2026-11-28T08:30:00.123456Z\n", id="negative"),
        pytest.param(f"{ORIGIN}\n+7\n{ROOT_B64}\ntime 2026-11-28T08:30:00.123456Z\n", id="plus-sign"),
        pytest.param(f"{ORIGIN}\n1_000\n{ROOT_B64}\ntime 2026-11-28T08:30:00.123456Z\n", id="underscore"),
        pytest.param(f"{ORIGIN}\n 7\n{ROOT_B64}\ntime 2026-11-28T08:30:00.123456Z\n", id="space"),
        pytest.param(f"{ORIGIN}\n\u0667\n{ROOT_B64}\ntime 2026-11-28T08:30:00.123456Z\n", id="arabic-digit"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64[:-4]}\ntime 2026-11-28T08:30:00.123456Z\n", id="short-root"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT.hex()}\ntime 2026-11-28T08:30:00.123456Z\n", id="hex-root"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}\n", id="no-time-line"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}\ntime 2026-11-28 08:30:00\n", id="bad-time"),
        pytest.param(f"{ORIGIN}\n7\n{ROOT_B64}\ntime 2026-11-28T08:30:00.123456Z", id="no-final-newline"),
    ],
)
def test_parse_body_rejects(body: str) -> None:
    with pytest.raises(CheckpointError):
        parse_body(body)


# --- Interoperability with the C2SP signed-note format -----------------------------------------

# From the documentation and tests of golang.org/x/mod/sumdb/note (the "PeterNeumann" example).
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = (
    GO_TEXT
    + "\n"
    + "\u2014 PeterNeumann "
    + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def go_private_key() -> Ed25519PrivateKey:
    # The base64 part may itself contain "+", hence maxsplit.
    _, _, name, hex_id, encoded = GO_SIGNER_KEY.split("+", 4)
    assert (name, hex_id) == ("PeterNeumann", "c74f20a3")
    raw = base64.b64decode(encoded, validate=True)
    assert raw[:1] == b"\x01" and len(raw) == 33
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def test_go_verifier_key_parses_with_its_key_id() -> None:
    verifier = Verifier.parse(GO_VERIFIER_KEY)
    assert verifier.name == "PeterNeumann"
    assert verifier.key_id.hex() == "c74f20a3"
    assert raw_public(go_private_key()) == verifier.public.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def test_our_signer_derives_the_go_verifier_key(tmp_path: Path) -> None:
    path = tmp_path / "go.pem"
    write_key(path, go_private_key())
    assert CheckpointSigner(path, "PeterNeumann").verifier_key == GO_VERIFIER_KEY


def test_signed_message_is_the_text_through_its_final_newline() -> None:
    """The signature covers the note text including its last newline, not the blank separator line."""
    verifier = Verifier.parse(GO_VERIFIER_KEY)
    text, _, signature_line = GO_NOTE.rpartition("\n\n")
    text += "\n"
    assert text == GO_TEXT
    blob = base64.b64decode(signature_line.removeprefix(DASH).removeprefix("PeterNeumann ").strip())
    assert blob[:4] == verifier.key_id
    verifier.public.verify(blob[4:], GO_TEXT.encode())
    for wrong in (GO_TEXT[:-1], GO_TEXT + "\n", GO_NOTE):
        with pytest.raises(InvalidSignature):
            verifier.public.verify(blob[4:], wrong.encode())
    # Ed25519 is deterministic, so signing the text ourselves reproduces Go's note byte for byte.
    ours = base64.b64encode(verifier.key_id + go_private_key().sign(GO_TEXT.encode())).decode()
    assert f"{GO_TEXT}\n{DASH}PeterNeumann {ours}\n" == GO_NOTE


def test_our_notes_are_what_go_would_produce(tmp_path: Path) -> None:
    """Our note for a checkpoint is exactly note.Sign's output: text, blank line, em-dash signature line."""
    path = tmp_path / "go.pem"
    write_key(path, go_private_key())
    signer = CheckpointSigner(path, "PeterNeumann")
    checkpoint = Checkpoint("PeterNeumann", 5, ROOT, SIGNED_AT)
    body = checkpoint.body()
    expected_blob = bytes.fromhex("c74f20a3") + go_private_key().sign(body.encode())
    assert signer.sign(checkpoint) == f"{body}\n{DASH}PeterNeumann {base64.b64encode(expected_blob).decode()}\n"
    assert Verifier.parse(GO_VERIFIER_KEY).verify(signer.sign(checkpoint)) == checkpoint


def test_our_notes_follow_the_signed_note_text_rules(note: str, checkpoint: Checkpoint) -> None:
    note.encode("utf-8")  # valid UTF-8
    assert all(char == "\n" or ord(char) >= 0x20 for char in note)  # no other ASCII control characters
    lines = checkpoint.body().split("\n")[:-1]
    assert len(lines) >= 3 and all(lines)  # tlog-checkpoint: at least three non-empty lines
    assert lines[1] == str(int(lines[1]))  # decimal, no leading zeros
    assert base64.b64encode(base64.b64decode(lines[2], validate=True)).decode() == lines[2]  # standard base64
    assert not any(c.isspace() or c == "+" for c in ORIGIN)  # key name: no Unicode spaces, no plus


def test_unknown_signatures_are_ignored(tmp_path: Path, signer: CheckpointSigner, note: str) -> None:
    """Spec: verifiers MUST ignore signatures from unknown keys, even sharing a name or an id (not both).

    Witness cosignatures are added to a checkpoint exactly like this, as further signature lines.
    """
    body, _, ours = note.partition("\n\n")
    witness = CheckpointSigner(tmp_path / "witness.pem", "witness.example/w1")
    witness_line = witness.sign(Checkpoint(ORIGIN, 1234, ROOT, SIGNED_AT)).partition("\n\n")[2]
    same_name_other_key = CheckpointSigner(tmp_path / "rotated.pem", ORIGIN)
    rotated_line = same_name_other_key.sign(Checkpoint(ORIGIN, 1234, ROOT, SIGNED_AT)).partition("\n\n")[2]
    blob = base64.b64decode(ours.split(" ")[-1])
    same_id_other_name = f"{DASH}other.example/log {base64.b64encode(blob[:4] + bytes(64)).decode()}\n"
    for extra in (witness_line, rotated_line, same_id_other_name):
        assert signer.verifier.verify(f"{body}\n\n{extra}{ours}") == parse_body(body + "\n")
        assert signer.verifier.verify(f"{body}\n\n{ours}{extra}") == parse_body(body + "\n")


def test_a_failing_signature_from_the_known_key_rejects_the_note(signer: CheckpointSigner, note: str) -> None:
    """Spec: a signature from a known key (same name and id) that fails SHOULD reject the whole note."""
    body, _, ours = note.partition("\n\n")
    blob = base64.b64decode(ours.split(" ")[-1])
    bad = f"{DASH}{ORIGIN} {base64.b64encode(blob[:4] + bytes(64)).decode()}\n"
    with pytest.raises(CheckpointError, match="does not verify"):
        signer.verifier.verify(f"{body}\n\n{bad}{ours}")
