"""Command-signing benchmark: Ed25519 sign and verify cost per command, on one core.

For N real setpoint commands (the dispatcher's shape and subject), in the same run:

* ``encode``         — ``codec.encode_command`` alone: the baseline on the dispatcher's side;
* ``encode+sign``    — encode and sign (subject + payload), what ``NatsCommandSender`` does;
* ``decode``         — ``codec.decode_command`` alone: the baseline on the gateway's side;
* ``verify``         — the signature check alone;
* ``verify+decode``  — what the gateway's consumer does before the command rules;
* ``verify-cryptography`` — for reference only, the same signatures checked with
  ``cryptography`` (OpenSSL), which ``vpp`` signs with but no longer verifies with
  (the gateway's verifier uses PyNaCl/libsodium: about 2x faster here).

Each case runs ``--repeats`` times in this one process (one core); the median counts.
Usage: ``python bench/command_signing.py [--commands 20000] [--repeats 5]``.
Prints a table and writes ``bench/results/command_signing.json``.
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vpp.adapters.crypto import (  # noqa: E402
    Ed25519CommandSigner,
    Ed25519CommandVerifier,
    SigningKeyring,
    export_public,
    load_trusted_keys,
)
from vpp.adapters.nats import codec, subjects  # noqa: E402
from vpp.domain import SetpointCommand  # noqa: E402
from vpp.domain.commands import seq_at  # noqa: E402


def commands(n: int) -> list[SetpointCommand]:
    now = datetime.now(UTC)
    return [
        SetpointCommand(
            f"d-bench-0-bat-{i:05d}-{seq_at(now)}",
            f"bat-{i:05d}",
            "gw-demo",
            seq_at(now),
            -1234.5 + i,
            now,
            now + timedelta(seconds=30),
            "d-bench",
        )
        for i in range(n)
    ]


def timed(fn: Callable[[], object], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--commands", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    n = args.commands
    with tempfile.TemporaryDirectory() as tmp:
        ring = SigningKeyring.create(Path(tmp) / "ring")
        signer = Ed25519CommandSigner(ring)
        verifier = Ed25519CommandVerifier(load_trusted_keys(export_and(ring, Path(tmp))))
    cmds = commands(n)
    subj = [subjects.command(c.gateway_id, c.der_id) for c in cmds]
    payloads = [codec.encode_command(c) for c in cmds]
    headers = [signer.sign(s, p) for s, p in zip(subj, payloads, strict=True)]
    msgs = list(zip(subj, payloads, headers, strict=True))
    pairs = list(zip(subj, cmds, strict=True))

    def verify_decode() -> None:
        for s, p, h in msgs:
            verifier.verify(s, p, h)
            codec.decode_command(p, "gw-demo")

    cases: dict[str, tuple[Callable[[], object], str]] = {
        "encode": (lambda: [codec.encode_command(c) for c in cmds], "encode"),
        "encode+sign": (
            lambda: [signer.sign(s, codec.encode_command(c)) for s, c in pairs],
            "encode",
        ),
        "decode": (lambda: [codec.decode_command(p, "gw-demo") for p in payloads], "decode"),
        "verify": (lambda: [verifier.verify(s, p, h) for s, p, h in msgs], "decode"),
        "verify+decode": (verify_decode, "decode"),
    }
    cases["verify-cryptography"] = (openssl_verify(ring, msgs), "decode")
    seconds = {name: timed(fn, args.repeats) for name, (fn, _) in cases.items()}
    results = []
    print(
        f"\n{'case':<20} {'commands':>9} {'seconds':>8} {'µs/command':>11} "
        f"{'commands/s/core':>16} {'vs baseline':>12}"
    )
    for name, (_, baseline) in cases.items():
        s = seconds[name]
        ratio = s / seconds[baseline]
        row = {
            "case": name,
            "commands": n,
            "seconds": round(s, 4),
            "us_per_command": round(s / n * 1e6, 2),
            "commands_per_s_per_core": round(n / s),
            "baseline": baseline,
            "time_ratio_to_baseline": round(ratio, 2),
        }
        results.append(row)
        print(
            f"{name:<20} {n:>9,} {s:>8.3f} {row['us_per_command']:>11.2f} "
            f"{row['commands_per_s_per_core']:>16,} {ratio:>11.2f}x"
        )
    out = ROOT / "bench" / "results" / "command_signing.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "machine": platform.node(),
                "python": platform.python_version(),
                "repeats": args.repeats,
                "results": results,
            },
            indent=2,
        )
    )
    print(f"\nwritten {out}")


def openssl_verify(
    ring: SigningKeyring, msgs: list[tuple[str, bytes, dict[str, str]]]
) -> Callable[[], object]:
    key = ring.current.public_key()
    signed = [(s.encode() + b"\n" + p, base64.b64decode(h["Vpp-Signature"])) for s, p, h in msgs]
    return lambda: [key.verify(sig, m) for m, sig in signed]


def export_and(ring: SigningKeyring, tmp: Path) -> Path:
    out = tmp / "keys.pub"
    export_public(ring.directory, out)
    return out


if __name__ == "__main__":
    main()
