"""The tracking benchmark's outputs: the table, the members that did not follow, the plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.tracking_judge import GOAL_SHARE


def _f(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def table(runs: list[dict[str, Any]]) -> str:
    head = (
        f"{'plant':<16} {'iv':>2} {'target kW':>9} {'from kW':>8} {'share':>6} "
        f"{'RMS kW':>7} {'worst kW':>8} {'to band s':>9}  verdict"
    )
    lines = [head, "-" * len(head)]
    for run in runs:
        if run.get("failure") and not run.get("dispatch_id"):
            lines.append(f"{run['plant_id']:<16}  FAILED: {run['failure']}")
            continue
        for i, s in enumerate(run["steps"]):
            f = s.get("figures")
            if f is None:
                lines.append(
                    f"{run['plant_id']:<16} {i:>2} {s['target_kw']:>9.1f}  FAILED: not judged"
                )
                continue
            share = "-" if f["share"] is None else f"{f['share']:.0%}"
            lines.append(
                f"{run['plant_id']:<16} {i:>2} {s['target_kw']:>9.1f} "
                f"{_f(f['from_kw'], '8.1f'):>8} "
                f"{share:>6} {_f(f['rms_kw'], '7.2f'):>7} {_f(f['worst_kw'], '8.2f'):>8} "
                f"{_f(f['time_to_band_s'], '9.1f'):>9}  {f['verdict']}"
            )
        final = run.get("final") or {}
        lines.append(f"{'':<16}    dispatch {final.get('status')}: {final.get('detail')}")
        own = [iv.get("tracking") for iv in final.get("intervals", [])]
        if any(own):  # the dispatcher's own figures (its 4 s samples), where the API has them
            lines.append(
                f"{'':<16}    dispatcher's own share / to band: "
                + ", ".join(
                    f"{_f(t['share_within'], '.0%')} / {_f(t['time_to_band_s'], '.0f')} s"
                    for t in own
                    if t
                )
            )
        if run.get("failure"):
            lines.append(f"{'':<16}    FAILED: {run['failure']}")
    return "\n".join(lines)


def laggards(run: dict[str, Any], ders: dict[str, dict[str, Any]], top: int = 6) -> str:
    """Per interval, the members furthest from their setpoints (mean |error|)."""
    lines = []
    for i, s in enumerate(run.get("steps", [])):
        if "members" not in s:
            continue
        rows = sorted(s["members"].values(), key=lambda m: -(m["mean_abs_error_kw"] or 0.0))[:top]
        parts = [
            f"{m['der_id']}({ders[m['der_id']]['kind']}) set {_f(m['setpoint_kw'], '.1f')} "
            f"meas {_f(m['measured_kw'], '.1f')} |err| {_f(m['mean_abs_error_kw'], '.1f')}"
            + (f" acks {m['acks']}" if any(k != "applied" for k in m["acks"]) else "")
            for m in rows
            if (m["mean_abs_error_kw"] or 0.0) > 0.1
        ]
        lines.append(
            f"  {run['plant_id']} iv {i}: " + ("; ".join(parts) or "every member followed")
        )
    return "\n".join(lines)


def hold_on_grid(points: list[tuple[float, float]], grid: list[int]) -> list[float]:
    """The last value at or before each grid time (0 before the first point)."""
    out, j, last = [], 0, 0.0
    for g in grid:
        while j < len(points) and points[j][0] <= g:
            last, j = points[j][1], j + 1
        out.append(last)
    return out


def plot(runs: list[dict[str, Any]], ders: dict[str, dict[str, Any]], out: Path) -> Path:
    """Per plant: target, band and measured plant power; below it the members' measured
    power summed by kind (from their raw telemetry)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bench.tracking_io import parse_ts

    shown = [r for r in runs if r.get("samples")]
    fig, axes = plt.subplots(
        2, max(1, len(shown)), figsize=(6 * max(1, len(shown)), 7), squeeze=False, sharex="col"
    )
    for col, run in enumerate(shown):
        ax, ax2 = axes[0][col], axes[1][col]
        for s in run["steps"]:
            x0, x1, band = s["offset_s"], s["offset_s"] + s["duration_s"], s["figures"]["band_kw"]
            ax.plot([x0, x1], [s["target_kw"]] * 2, color="black", linewidth=1.2)
            ax.fill_between(
                [x0 + 20, x1],
                s["target_kw"] - band,
                s["target_kw"] + band,
                color="green",
                alpha=0.15,
                linewidth=0,
            )
        ts, ps = zip(*run["samples"], strict=True)
        ax.plot(ts, ps, color="tab:blue", linewidth=1, label="measured (envelope.p_now_kw)")
        ax.set_title(f"{run['plant_id']} — {(run.get('final') or {}).get('status')}")
        ax.set_ylabel("kW (+ = injection)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        start = parse_ts(run["start"])
        grid = list(range(int(ts[0]), int(ts[-1]) + 1))
        by_kind: dict[str, list[float]] = {}
        for der_id, pts in run.get("telemetry", {}).items():
            held = hold_on_grid([((parse_ts(a) - start).total_seconds(), p) for a, p in pts], grid)
            acc = by_kind.setdefault(ders[der_id]["kind"], [0.0] * len(grid))
            by_kind[ders[der_id]["kind"]] = [x + y for x, y in zip(acc, held, strict=True)]
        for kind, series in sorted(by_kind.items()):
            ax2.plot(grid, series, linewidth=0.9, label=kind)
        ax2.set_xlabel("s since the dispatch's start")
        ax2.set_ylabel("kW by kind")
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=7, loc="best", ncol=3)
    fig.suptitle(
        f"Tracking: target (black), band after 20 s (green), goal {GOAL_SHARE:.0%} in band"
    )
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
