"""Per-turn-depth curves and example dialogues from `chatrec evaluate-crs --details FILE`.

    .venv/bin/python bench/crs/plots.py DETAILS.json reports/redial_depth.png [PIPELINE_DETAILS.json]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

BINS = [(0, 2), (3, 5), (6, 8), (9, 11), (12, 15), (16, 999)]


def by_depth(turns: list[dict], strict: bool = False) -> list[tuple[str, int, float, float]]:
    rows = []
    for lo, hi in BINS:
        ranks = [r for t in turns if lo <= t["index"] <= hi
                 for r in (t["strict_ranks"] if strict else t["ranks"])]
        if not ranks:
            continue
        arr = np.array([r if r is not None else np.inf for r in ranks], dtype=float)
        label = f"{lo}-{hi}" if hi < 999 else f"{lo}+"
        rows.append((label, len(ranks), float((arr <= 10).mean()), float((arr <= 50).mean())))
    return rows


def main(details: str, out_png: str, baseline: str | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(Path(details).read_text())
    runs = [("chatrec", data["turns"])]
    if data.get("pipeline_turns"):
        runs.append(("pipeline alone", data["pipeline_turns"]))
    if baseline:
        runs.append(("baseline", json.loads(Path(baseline).read_text())["turns"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, strict in zip(axes, (False, True)):
        for name, turns in runs:
            rows = by_depth(turns, strict)
            x = np.arange(len(rows))
            ax.plot(x, [r[2] for r in rows], marker="o", label=f"{name} R@10")
            ax.plot(x, [r[3] for r in rows], marker="s", linestyle="--", label=f"{name} R@50")
            ax.set_xticks(x, [f"{r[0]}\n(n={r[1]})" for r in rows])
        ax.set_title("strict (new films only)" if strict else "all targets")
        ax.set_xlabel("position of the recommender message in the dialogue")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("recall")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    for name, turns in runs:
        for strict in (False, True):
            print(name, "strict" if strict else "all", by_depth(turns, strict))


if __name__ == "__main__":
    main(*sys.argv[1:])
