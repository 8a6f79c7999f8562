""""Something like X" benchmark: the chat's picks against item-to-item baselines on the same held-out users.

    .venv/bin/python bench/like_x/run.py [--users 150] [--seed 0] [--also-seeds 2,3] [--langs en,zh] [--keep DIR]
                                         [--reuse] [--validate] [--no-report]

--validate scores validation users instead (drawn with seed + 1 from the users who are not test users; both sets
are held out): settings are chosen there, never on the reported test users. CHATREC_* variables (e.g. the hybrid
weights) apply to the chat. --reuse keeps the reranker a --keep folder already holds.

The protocol is in chatrec/evaluation/like_x.py. The run builds a copy of the bundled MovieLens folder without the
test users' ratings, trains the fusion reranker on it (`chatrec train`'s code, ~1-2 min), opens the chat on it
exactly as the app does (`Recommender.from_config`), and sends every request as the first message of a fresh
conversation. Then the same for the --also-seeds draws of other test users (English only): one draw of 150 users
moves the ratio by about ±0.1, so the report gives every draw and the pooled ratios. Writes reports/like_x.md and
reports/like_x.json (~12 min on 2 cores).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from chatrec.catalog import load_catalog  # noqa: E402
from chatrec.chat.recommender import Recommender  # noqa: E402
from chatrec.config import Config  # noqa: E402
from chatrec.evaluation.like_x import (HEAD, ISSUE_EXAMPLES, N_PICKS, PHRASINGS, Baselines, Scored,  # noqa: E402
                                       chat_picks, head_items, holdout_folder, make_cases, phrase, side_by_side)
from chatrec.training.data import load_interactions  # noqa: E402
from chatrec.training.fit import train_catalog  # noqa: E402

TARGET_RATIO = 1.2  # chat hit rate >= 1.2 x the best of item-kNN and iALS (issue 16)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--also-seeds", default="2,3",
                    help="more draws of test users, each with its own training (English, no examples): the report "
                         "gives every draw and the pooled ratios; empty for one draw")
    ap.add_argument("--langs", default="en,zh")
    ap.add_argument("--keep", help="work folder to keep (default: a temporary one)")
    ap.add_argument("--examples", type=int, default=10)
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--validate", action="store_true", help="score validation users (for choosing settings)")
    ap.add_argument("--reuse", action="store_true", help="keep the reranker already trained in the --keep folder")
    ap.add_argument("--model-params", default="{}", help="FusionConfig fields for the reranker, as JSON (experiments)")
    ap.add_argument("--head-params", default=None,
                    help="HeadParams fields for the source head, as JSON: with --reuse, retrains only the head")
    ap.add_argument("--out", default=str(ROOT / "reports" / "like_x"))
    args = ap.parse_args()
    start = time.time()
    if args.validate:
        args.out = args.out + "_validation"
    result = run_draw(args, args.seed, [x for x in args.langs.split(",") if x], args.examples, issue=True,
                      keep=args.keep)
    draws = [] if args.validate else [int(x) for x in args.also_seeds.split(",") if x.strip()]
    result["draws"] = [draw_summary(result)]
    for seed in draws:  # other users held out, another training: how much of a ratio is the draw
        other = run_draw(args, seed, ["en"], 0, issue=False, keep=None)
        result["draws"].append(draw_summary(other))
        print(format_table(other))
    result["pooled"] = pooled(result["draws"]) if len(result["draws"]) > 1 else None
    result["seconds"] = round(time.time() - start, 1)
    print(format_table(result))
    if not args.no_report:
        out = Path(args.out)
        out.with_suffix(".json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        out.with_suffix(".md").write_text(format_report(result))
        print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")


def run_draw(args, seed: int, langs: list[str], n_examples: int, issue: bool, keep: str | None) -> dict:
    """One draw: `args.users` test users (seed), a chat trained without them, every baseline and phrasing."""
    start = time.time()
    base = Config.from_env()
    catalog = load_catalog(base.catalog)
    data = load_interactions(base.catalog_dir, catalog)
    cases = make_cases(data, n_users=args.users, seed=seed)
    held_out = {c.user_key for c in cases}
    if args.validate:  # other users, never the test users: settings are chosen on these
        cases = [c for c in make_cases(data, n_users=3 * args.users, seed=seed + 1)
                 if c.user_key not in held_out][: args.users]
        held_out |= {c.user_key for c in cases}
    test_keys = held_out
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="chatrec-likex-"))
    folder = holdout_folder(base.catalog_dir, work / "catalog", test_keys,
                            overviews=ROOT / "data" / "tmdb" / "ml_latest_small_overviews.csv")
    config = Config.from_env(catalog=str(folder), index_dir=str(work / "index"), model_dir=str(work / "models"),
                             profile_db=str(work / "profiles.sqlite3"), embedder=base.embedder, llm="none")
    if keep and args.reuse and (work / "models" / "fusion.pt").exists() and (work / "models" / "collab.npz").exists():
        import torch

        meta = torch.load(work / "models" / "fusion.pt", map_location="cpu", weights_only=True)["extra"]
        trained = {"val_ndcg@10": meta["val_ndcg@10"]}
        if args.head_params is not None:
            retrain_head(config, json.loads(args.head_params), seed)
    else:
        print(f"seed {seed}: {len(test_keys)} users held out; training the reranker on the others ...", flush=True)
        trained = train_catalog(config, progress=True, seed=seed, model_params=json.loads(args.model_params),
                                head_params=json.loads(args.head_params or "{}"))
    rec = Recommender.from_config(config, progress=True)
    assert [it.item_id for it in rec.catalog.items] == [it.item_id for it in catalog.items]
    train = load_interactions(config.catalog_dir, rec.catalog)
    counts = np.bincount(train.item, minlength=len(rec.catalog)).astype(np.float64)
    head = head_items(counts, HEAD)
    n_users = train.n_users

    base_scores = {m: Scored(m) for m in Baselines.METHODS}
    baselines = Baselines(rec.catalog, train, rec.index.vectors, seed=seed)
    example_picks: dict[str, list[list[int]]] = {m: [] for m in Baselines.METHODS}
    for case in tqdm(cases, desc="baselines"):
        for m in Baselines.METHODS:
            picks = getattr(baselines, m)(case.seed)
            base_scores[m].add(picks, case, counts, n_users, head)
            example_picks[m].append(picks)

    zh_names = rec.rules.zh_names
    chat_scores: dict[str, Scored] = {}
    by_phrasing: dict[str, Scored] = {}
    examples = []
    for lang in langs:
        total = Scored("chatrec", lang)
        for template in PHRASINGS[lang]:
            one = Scored("chatrec", lang)
            for n, case in enumerate(tqdm(cases, desc=f"chat {template!r}")):
                text = phrase(template, rec.catalog, case.seed, zh_names)
                picks, linked = chat_picks(rec, text, f"likex_{lang}_{n}_{abs(hash(template)) % 10**6}")
                ok = rec.catalog.items[case.seed].item_id in linked
                for s in (one, total):
                    s.add(picks, case, counts, n_users, head, linked=ok)
                if lang == "en" and template == PHRASINGS["en"][0] and n < n_examples:
                    examples.append({"request": text, "targets": len(case.targets),
                                     "chatrec": [_label(rec, p, case) for p in picks],
                                     "itemknn": [_label(rec, p, case) for p in example_picks["itemknn"][n]]})
            by_phrasing[template] = one
        chat_scores[lang] = total

    issue_examples = []
    for n, (text, before) in enumerate(ISSUE_EXAMPLES if issue else []):
        issue_examples.append({"request": text, "before": before,
                               **side_by_side(rec, baselines, text, f"likex_issue_{n}")})
    rows = [s.summary() for s in base_scores.values()] + [s.summary() for s in chat_scores.values()]
    best_cf = max(base_scores["itemknn"].summary()["hit"], base_scores["ials"].summary()["hit"])
    best_cf_tail = max(base_scores["itemknn"].summary()["hit_tail"], base_scores["ials"].summary()["hit_tail"])
    knn_novelty = base_scores["itemknn"].summary()["novelty"]
    targets = {}
    for lang, s in chat_scores.items():
        r = s.summary()
        targets[lang] = {"hit_ratio": r["hit"] / best_cf if best_cf else None,
                         "tail_ratio": r["hit_tail"] / best_cf_tail if best_cf_tail else None,
                         "novelty_vs_itemknn": r["novelty"] - knn_novelty}
    return {"users": len(cases), "seed": seed, "validation": args.validate, "picks": N_PICKS, "head": HEAD,
            "weights": {k: getattr(config, k) for k in ("collab_weight", "hybrid_base_weight",
                                                        "hybrid_quality_weight", "profile_collab_weight",
                                                        "hybrid_genre_weight")},
            "reranker": {"val_ndcg@10": trained["val_ndcg@10"], "scorer": rec.scorer.name if rec.scorer else None},
            "rows": rows, "by_phrasing": {k: v.summary() for k, v in by_phrasing.items()}, "targets": targets,
            "examples": examples, "issue_examples": issue_examples, "seconds": round(time.time() - start, 1)}


def draw_summary(result: dict) -> dict:
    """One draw's English hit rates, debiased hit rates and novelty: the chat's and the baselines' it is held to."""
    row = {(r["method"], r["lang"]): r for r in result["rows"]}
    chat = row[("chatrec", "en")]
    knn, ials = row[("itemknn", "-")], row[("ials", "-")]
    return {"seed": result["seed"], "users": result["users"],
            **{f"{name}_{k}": r[k] for name, r in (("chat", chat), ("itemknn", knn), ("ials", ials))
               for k in ("hit", "hit_tail", "novelty")}}


def pooled(draws: list[dict]) -> dict:
    """The draws together (equal users each): mean rates, and the ratios of the means."""
    mean = {k: float(np.mean([d[k] for d in draws])) for k in draws[0] if k not in ("seed", "users")}
    return {**mean, **ratios(mean)}


def ratios(d: dict) -> dict:
    best = max(d["itemknn_hit"], d["ials_hit"])
    best_tail = max(d["itemknn_hit_tail"], d["ials_hit_tail"])
    return {"hit_ratio": d["chat_hit"] / best if best else float("nan"),
            "tail_ratio": d["chat_hit_tail"] / best_tail if best_tail else float("nan"),
            "novelty_vs_itemknn": d["chat_novelty"] - d["itemknn_novelty"]}


def retrain_head(config: Config, params: dict, seed: int) -> None:
    """The source head alone, retrained on the kept reranker with other `HeadParams` (for the validation grid)."""
    from chatrec.ranking.checkpoint import item_text_vectors
    from chatrec.ranking.hybrid import head_path, save_head
    from chatrec.training.hybrid_fit import HeadParams, train_head

    catalog = load_catalog(config.catalog)
    vectors, _ = item_text_vectors(config, catalog)
    data = load_interactions(config.catalog_dir, catalog)
    head, summary = train_head(config, catalog, data, vectors, seed=seed, progress=False, params=HeadParams(**params))
    save_head(head, head_path(config))
    print("head:", {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}, flush=True)


def _label(rec, pos: int, case) -> str:
    item = rec.catalog.items[pos]
    return ("✓ " if pos in case.targets else "") + item.label


NAMES = {"popularity": "popularity", "genre_popularity": "genre + popularity", "itemknn": "item-kNN from X",
         "ials": "iALS item similarity", "text_only": "text only (sentence vectors)", "chatrec": "chatrec (chat)"}


def format_table(result: dict) -> str:
    lines = [f"| method | lang | hit rate@{result['picks']} | debiased hit rate | novelty (bits) | long-tail share "
             f"| X linked |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        lines.append(f"| {NAMES.get(r['method'], r['method'])} | {r['lang']} | {r['hit']:.3f} ± {r['hit_se']:.3f} "
                     f"| {r['hit_tail']:.3f} ± {r['hit_tail_se']:.3f} | {r['novelty']:.2f} | {r['tail_share']:.2f} "
                     f"| {r['linked']:.2f} |")
    return "\n".join(lines)


def format_report(result: dict) -> str:
    parts = [
        "# \"Something like X\": the chat against item-to-item baselines",
        "",
        f"Generated by `bench/like_x/run.py` (protocol: `chatrec/evaluation/like_x.py`). {result['users']} MovieLens "
        f"users (seed {result['seed']}) with at least 10 films rated ≥ 4 are held out entirely: every method's item "
        "similarities and chatrec's reranker are learned from the other users. Per user, X is one of their 5-star "
        f"films; the request names X in a fresh conversation; a hit is a pick the user rated ≥ 4 (X excluded). "
        f"Debiased: hits outside the {result['head']} most-rated films. Novelty: mean −log2 of the share of "
        "training users who rated a pick. Baselines are given X directly; chatrec has to find it in the words "
        "(\"X linked\"). ± is the standard error over requests.",
        "",
        format_table(result),
        "",
        "## Targets (issue 16)",
        "",
        "| lang | hit rate ÷ best of item-kNN, iALS (target ≥ 1.2) | debiased ÷ best (target ≥ 1.0) "
        "| novelty − item-kNN's (target ≥ 0) |",
        "|---|---:|---:|---:|",
    ]
    for lang, t in result["targets"].items():
        parts.append(f"| {lang} | {t['hit_ratio']:.2f} | {t['tail_ratio']:.2f} | {t['novelty_vs_itemknn']:+.2f} |")
    if result.get("pooled"):
        p = result["pooled"]
        parts.append(f"| en, pooled over {len(result['draws'])} draws (below) | {p['hit_ratio']:.2f} "
                     f"| {p['tail_ratio']:.2f} | {p['novelty_vs_itemknn']:+.2f} |")
    parts += ["", "## By phrasing", "", "| request | hit rate | debiased | X linked |", "|---|---:|---:|---:|"]
    for k, r in result["by_phrasing"].items():
        parts.append(f"| {k} | {r['hit']:.3f} | {r['hit_tail']:.3f} | {r['linked']:.2f} |")
    parts += ["", f"## {len(result['examples'])} requests side by side (✓ = the user rated it ≥ 4)", ""]
    for ex in result["examples"]:
        parts.append(f"**{ex['request']}** ({ex['targets']} targets)")
        parts.append("")
        parts.append(f"- chatrec: {' · '.join(ex['chatrec'])}")
        parts.append(f"- item-kNN: {' · '.join(ex['itemknn'])}")
        parts.append("")
    parts += ["## The requests issue 16 was filed with", "",
              "Fresh conversations on this run's chat (trained without the test users); item-kNN from the film the chat "
              "linked, on the same training users.", ""]
    for ex in result.get("issue_examples", []):
        parts += [f"**{ex['request']}**", "", f"- before (as filed): {ex['before']}",
                  f"- chatrec now: {' · '.join(ex['chatrec'])}", f"- item-kNN: {' · '.join(ex['itemknn'])}", ""]
    draws = result.get("draws", [])
    if len(draws) > 1:
        parts += ["## Other draws of test users", "",
                  f"How much of a ratio is the draw: the same run again with other test users ({draws[0]['users']} "
                  "each, drawn by seed; each draw trains its own chat and baselines without them), English "
                  "\"Something like X\" only. The first row is the draw above. Settings were chosen on the "
                  "validation users of seed 0, which other draws may partly include.", "",
                  "| seed | chat hit | item-kNN | iALS | hit ÷ best | debiased ÷ best | novelty − item-kNN's |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        for d in draws:
            r = ratios(d)
            parts.append(f"| {d['seed']} | {d['chat_hit']:.3f} | {d['itemknn_hit']:.3f} | {d['ials_hit']:.3f} "
                         f"| {r['hit_ratio']:.2f} | {r['tail_ratio']:.2f} | {r['novelty_vs_itemknn']:+.2f} |")
        p = result["pooled"]
        parts += [f"| **pooled** | {p['chat_hit']:.3f} | {p['itemknn_hit']:.3f} | {p['ials_hit']:.3f} "
                  f"| **{p['hit_ratio']:.2f}** | **{p['tail_ratio']:.2f}** | **{p['novelty_vs_itemknn']:+.2f}** |", ""]
    parts.append(f"Run time {result['seconds'] / 60:.1f} min on 2 cores; reranker validation NDCG@10 "
                 f"{result['reranker']['val_ndcg@10']:.3f} ({result['reranker']['scorer']}).")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    main()
