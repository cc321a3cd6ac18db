"""Matplotlib figures for scenario results and optimizer scaling."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from vpp.research.scenario import ScenarioResult


def plot_day(result: ScenarioResult, *, title: str = "Plant: target vs delivered") -> Figure:
    """Three panels: plant target/plan/delivered (kW), power by DER kind, storage SoC."""
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    p = result.plant / 1000.0
    ax1.step(p.index, p["target_w"], where="post", label="target", color="black", lw=2)
    ax1.step(p.index, p["planned_w"], where="post", label="plan", ls="--")
    ax1.step(p.index, p["delivered_w"], where="post", label="delivered", alpha=0.8)
    ax1.set_ylabel("kW (injection +)")
    ax1.set_title(title)
    ax1.legend(loc="upper left")
    by_kind = result.ders.pivot_table(index="time", columns="kind", values="p_w", aggfunc="sum")
    for kind in by_kind.columns:
        ax2.step(by_kind.index, by_kind[kind] / 1000.0, where="post", label=str(kind), lw=1.2)
    ax2.legend(loc="upper left", fontsize="small")
    ax2.set_ylabel("kW by kind")
    soc = result.ders.dropna(subset=["soc"])
    if not soc.empty:
        table = soc.pivot(index="time", columns="der_id", values="soc")
        for der_id in table.columns:
            ax3.plot(table.index, table[der_id], lw=1)
    ax3.set_ylabel("state of charge")
    ax3.set_ylim(0, 1)
    ax3.set_xlabel("time (UTC)")
    fig.tight_layout()
    return fig


def plot_scaling(table: pd.DataFrame, *, title: str = "Optimizer scaling") -> Figure:
    """Seconds against fleet size (log-log), one line per method; ``table`` has columns
    ``N``, ``method``, ``seconds`` (e.g. from the benchmark's JSON)."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for method, rows in table.dropna(subset=["seconds"]).groupby("method"):
        rows = rows.sort_values("N")
        ax.loglog(rows["N"], rows["seconds"], marker="o", label=str(method))
    ax.set_xlabel("DERs")
    ax.set_ylabel("seconds")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
