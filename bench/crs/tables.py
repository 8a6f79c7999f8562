"""Markdown tables for reports/redial.md from bench/crs/run.py's JSON.

    .venv/bin/python bench/crs/tables.py reports/redial_results.json
"""
from __future__ import annotations

import json
import sys

KEYS = ("recall@1", "recall@10", "recall@50", "ndcg@10", "mrr")


def row(name: str, block: dict, ci: bool = True) -> str:
    cells = []
    for k in KEYS:
        v = f"{block[k]:.3f}"
        if ci and block.get("ci95"):
            lo, hi = block["ci95"][k]
            v += f" ({lo:.3f}–{hi:.3f})"
        cells.append(v)
    return f"| {name} | " + " | ".join(cells) + f" | {block['n_targets']} |"


def main(path: str) -> None:
    with open(path) as f:
        d = json.load(f)
    head = "| ranking | " + " | ".join(KEYS) + " | targets |\n|---|" + "---|" * (len(KEYS) + 1)
    for variant in ("all", "strict"):
        print(f"\n### {variant}\n")
        print(head)
        for name in ("chatrec", "chatrec_gold_mentions", "no_head", "comention_blend", "comention_only",
                     "directed_only", "popularity_train_mentions"):
            if name in d:
                block = d[name] if variant == "all" else d[name]["strict"]
                print(row(name, block, ci=name in ("chatrec", "chatrec_gold_mentions", "comention_blend")))
    print("\n### by link\n")
    print(head)
    for k, v in d.get("by_link", {}).items():
        print(row(k, v, ci=False))
    print("\nlinking", d.get("linking"))
    for key in [k for k in d if k.startswith("simulator")]:
        s = d[key]
        print(key, {k: v for k, v in s.items() if k != "examples"})


if __name__ == "__main__":
    main(sys.argv[1])
