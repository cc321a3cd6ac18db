"""The command-signing keyring on disk and Ed25519 signatures over subject + payload."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from vpp.adapters.crypto import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    Ed25519CommandSigner,
    Ed25519CommandVerifier,
    KeyringError,
    SigningKeyring,
    export_public,
    load_trusted_keys,
)
from vpp.application.ports import RefusalKind, SignatureRefused
from vpp.cli import app

SUBJECT = "vpp.command.gw-a.der-1"
PAYLOAD = b'{"v": 1, "command_id": "c1"}'


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keyring_files_are_owner_only_and_named_by_key_id(tmp_path: Path) -> None:
    ring = SigningKeyring.create(tmp_path / "ring")
    assert mode(ring.directory) == 0o700
    pem = ring.directory / f"{ring.current_id}.pem"
    assert mode(pem) == 0o600 and b"BEGIN PRIVATE KEY" in pem.read_bytes()  # PKCS8
    raw = ring.current.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert ring.current_id == hashlib.sha256(raw).hexdigest()[:16]
    assert (ring.directory / "current").read_text().strip() == ring.current_id
    with pytest.raises(KeyringError, match="already holds"):
        SigningKeyring.create(ring.directory)
    (ring.directory).chmod(0o755)
    with pytest.raises(KeyringError, match="owner-only"):
        SigningKeyring.load(ring.directory)


def test_rotation_keeps_old_keys_and_export_lists_all(tmp_path: Path) -> None:
    first = SigningKeyring.create(tmp_path / "ring")
    second = SigningKeyring.rotate(first.directory)
    assert second.current_id != first.current_id
    assert set(second.keys) == {first.current_id, second.current_id}
    out = tmp_path / "keys.pub"
    text = export_public(first.directory, out)
    assert out.read_text() == text
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert [ln.split()[1] for ln in lines] == [second.current_id, first.current_id]
    assert all(
        ln.split()[0] == "ed25519" and len(base64.b64decode(ln.split()[2])) == 32 for ln in lines
    )
    assert set(load_trusted_keys(out)) == {first.current_id, second.current_id}


def test_signature_verifies_and_is_bound_to_subject_and_payload(tmp_path: Path) -> None:
    ring = SigningKeyring.create(tmp_path / "ring")
    headers = Ed25519CommandSigner(ring).sign(SUBJECT, PAYLOAD)
    assert headers[KEY_ID_HEADER] == ring.current_id
    verifier = Ed25519CommandVerifier(load_trusted_keys(Path(export_and(tmp_path, ring))))
    assert verifier.verify(SUBJECT, PAYLOAD, headers) == ring.current_id

    def refused(subject: str, payload: bytes, h: dict[str, str] | None) -> SignatureRefused:
        with pytest.raises(SignatureRefused) as err:
            verifier.verify(subject, payload, h)
        return err.value

    assert refused(SUBJECT, PAYLOAD, None).kind is RefusalKind.UNSIGNED
    assert str(refused(SUBJECT, PAYLOAD, {})) == "signature: unsigned"
    moved = refused("vpp.command.gw-a.der-2", PAYLOAD, headers)
    assert moved.kind is RefusalKind.BAD_SIGNATURE and moved.reason == "bad signature"
    assert refused("vpp.command.gw-b.der-1", PAYLOAD, headers).kind is RefusalKind.BAD_SIGNATURE
    tampered = PAYLOAD.replace(b"c1", b"c2")
    assert refused(SUBJECT, tampered, headers).kind is RefusalKind.BAD_SIGNATURE
    garbage = headers | {SIGNATURE_HEADER: "not base64!"}
    assert refused(SUBJECT, PAYLOAD, garbage).kind is RefusalKind.BAD_SIGNATURE
    stranger = Ed25519CommandSigner(SigningKeyring.create(tmp_path / "other"))
    unknown = refused(SUBJECT, PAYLOAD, stranger.sign(SUBJECT, PAYLOAD))
    assert unknown.kind is RefusalKind.UNKNOWN_KEY
    assert unknown.reason == f"unknown key {stranger.key_id}"
    odd = refused(SUBJECT, PAYLOAD, {KEY_ID_HEADER: "x\u202e" + "a" * 99, SIGNATURE_HEADER: "AA=="})
    assert odd.reason == "unknown key x?" + "a" * 30  # attacker's text: shown short and plain


def export_and(tmp_path: Path, ring: SigningKeyring) -> Path:
    out = tmp_path / f"{ring.current_id}.pub"
    export_public(ring.directory, out)
    return out


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no keys"),
        ("rsa abc AAAA\n", "expected 'ed25519"),
        ("ed25519 0123456789abcdef !!!\n", "not an Ed25519 public key"),
        (f"ed25519 0123456789abcdef {base64.b64encode(bytes(32)).decode()}\n", "does not match"),
    ],
)
def test_a_bad_trusted_keys_file_says_why(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "keys.pub"
    path.write_text(text)
    with pytest.raises(KeyringError, match=reason):
        load_trusted_keys(path)
    with pytest.raises(KeyringError, match="No such file"):
        load_trusted_keys(tmp_path / "missing.pub")


def test_keys_cli_create_rotate_export(tmp_path: Path) -> None:
    ring, out = tmp_path / "ring", tmp_path / "keys.pub"
    run = CliRunner().invoke
    created = run(app, ["keys", "create", "--dir", str(ring), "-o", str(out)])
    assert created.exit_code == 0, created.output
    assert len(load_trusted_keys(out)) == 1
    assert run(app, ["keys", "create", "--dir", str(ring)]).exit_code == 2
    rotated = run(app, ["keys", "rotate", "--dir", str(ring), "-o", str(out)])
    assert rotated.exit_code == 0 and "current key is now" in rotated.output
    assert len(load_trusted_keys(out)) == 2
    printed = run(app, ["keys", "export", "--dir", str(ring)])
    assert printed.exit_code == 0 and printed.output.count("ed25519 ") == 2
    missing = run(app, ["keys", "export", "--dir", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "no keyring" in missing.output


def test_dispatcher_keyring_defaults_to_the_data_dir_and_is_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vpp.bootstrap.signing import default_signing_dir, dispatcher_signer

    monkeypatch.setenv("VPP_DATA_DIR", str(tmp_path / "data"))
    assert default_signing_dir() == tmp_path / "data" / "command-signing"
    first = dispatcher_signer(None)
    assert (tmp_path / "data" / "command-signing" / f"{first.key_id}.pem").exists()
    assert dispatcher_signer(None).key_id == first.key_id  # loaded, not made again
    assert dispatcher_signer(tmp_path / "elsewhere").key_id != first.key_id
