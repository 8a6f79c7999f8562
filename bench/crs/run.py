"""The ReDial benchmark behind reports/redial.md: one pass of the dev dialogues through the chat pipeline,
then every ranking variant from the same pipeline records (so they differ only in the blend), plus the
user simulator.

    .venv/bin/python bench/crs/run.py --out reports/redial_results.json --details /tmp/redial_details.json \
        [--limit N] [--simulate 200] [--tune-train 400]

`--tune-train N` first runs N training conversations through the pipeline and picks the blend weights on
them (co-mention leave-one-conversation-out), writing bench/crs/weights.json. The dev file is never used
to choose anything.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from chatrec.evaluation import redial, simulator  # noqa: E402
import baselines  # noqa: E402  (bench/crs/baselines.py, beside this file)
from chatrec.evaluation.metrics import metrics_from_ranks  # noqa: E402


def shown_path(path) -> str:
    """A path as the report shows it: relative to the repository when inside it (the bundled data/redial/)."""
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(redial.DEV_FILE))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--simulate", type=int, default=0)
    ap.add_argument("--max-turns", type=int, default=5)
    ap.add_argument("--tune-train", type=int, default=0)
    ap.add_argument("--out", default="reports/redial_results.json")
    ap.add_argument("--details", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--simulate-only", action="store_true", help="Only the simulator; merge into --out.")
    ap.add_argument("--llm", default="none", help="LLM backend for the simulated chats: none, fake, embedded.")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    random.seed(args.seed)
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="chatrec-crs-")
    config = redial.redial_config(profile_db=str(Path(tmp) / "profiles.sqlite3"), llm=args.llm)
    rcat = redial.build_redial_catalog()
    if args.simulate_only:
        rec = redial.open_redial_recommender(config, rcat, progress=True)
        rec.explainer = None  # explanations do not change what is shown; with an LLM they cost 5 generations a turn
        targets = simulator.sample_targets(rcat.catalog, redial.mentioned_films(rcat, redial.load_redial(args.data)),
                                           args.simulate, args.seed)
        t1 = time.time()
        sim = simulator.simulate(rec, targets, args.max_turns, args.seed, progress=True)
        summary = {k: v for k, v in sim.items() if k != "results"}
        summary.update(llm=config.llm, intent_parser=rec.parser.name, explanations="templates", seconds=round(time.time() - t1, 1), examples=sim["results"][:4])
        path = Path(args.out)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[f"simulator_{config.llm}"] = summary
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        if args.details:
            Path(args.details).write_text(json.dumps(sim["results"], ensure_ascii=False))
        print("simulator", config.llm, summary["success_rate"], summary["avg_turns_to_success"],
              summary["shown_per_success"], flush=True)
        return
    # the chat's collaborative source learns from the training conversations (and MovieLens), never from dev; note
    # that --tune-train then tunes the blend on conversations the collaborative vectors have seen
    train = redial.load_redial(redial.TRAIN_FILE)
    rec = redial.open_redial_recommender(config, rcat, llm=None, progress=True, train=train)
    model = baselines.build_model(rcat, vectors=rec.index.vectors)
    weights = baselines.load_weights()
    out: dict = {"setup": {"data": shown_path(args.data), "embedder": rec.index.embedder.name, "llm": config.llm,
                           "catalog_items": len(rcat.catalog), "linked_items": len(rcat.ml_of),
                           "train": shown_path(redial.TRAIN_FILE), "ratings": "MovieLens latest-small ratings.csv"}}
    if args.tune_train:
        tuning = train[:args.tune_train]
        records = redial.collect(rec, tuning, rcat.canonical, progress=True)
        weights, value = baselines.tune_weights(records, model, rcat.catalog)
        baselines.default_weights_path().write_text(json.dumps(
            {"weights": weights.to_json(), "picked_on": f"first {args.tune_train} conversations of "
             "train_subset_1401.jsonl, co-mention leave-one-conversation-out", "objective": "recall@10",
             "train_value": round(value, 4), "train_turns": len(records)}, indent=2) + "\n")
        out["tuning"] = {"train_conversations": len(tuning), "train_turns": len(records),
                         "train_recall@10": round(value, 4)}
        print("tuned", weights, value, flush=True)
    out["setup"]["weights"] = weights.to_json()

    conversations = redial.load_redial(args.data, args.limit)
    # chatrec's number (issue 16, item 5): the chat's ranking path alone -- Recommender.rank, its collaborative
    # source (co-mention in the training dialogues + MovieLens raters) and its source head learned from the training
    # dialogues -- exactly what `chatrec evaluate-crs` runs. Everything else below is a same-run baseline.
    t1 = time.time()
    rec.head, head_summary = redial.train_redial_head(rec, rcat, train,
                                                      redial.MOVIELENS_DIR / "ratings.csv", seed=args.seed,
                                                      progress=True)
    head_seconds = round(time.time() - t1, 1)
    t1 = time.time()
    records = redial.collect(rec, conversations, rcat.canonical, progress=True)
    out["setup"].update(conversations=len(conversations), turns=len(records), head_seconds=head_seconds,
                        pipeline_seconds=round(time.time() - t1, 1),
                        head=redial.rounded({k: v for k, v in head_summary.items() if k != "params"}))
    res = redial.evaluate_records(records, rcat.catalog, with_ranks=True, n_boot=1000)
    details = res.pop("turns")
    out["chatrec"] = redial.rounded(res)
    print("chatrec", {k: out["chatrec"][k] for k in redial.METRIC_KEYS}, "strict",
          {k: out["chatrec"]["strict"][k] for k in redial.METRIC_KEYS}, flush=True)
    # the same path given the seeker's films as the dataset links them (as the published systems read them), its
    # head learned the same way
    t1 = time.time()
    gold_head, _ = redial.train_redial_head(rec, rcat, train,
                                            redial.MOVIELENS_DIR / "ratings.csv", seed=args.seed, gold_mentions=True)
    own_head, rec.head = rec.head, gold_head
    gold = redial.collect(rec, conversations, rcat.canonical, progress=True, gold_mentions=True)
    rec.head = own_head
    out["chatrec_gold_mentions"] = redial.rounded(redial.evaluate_records(gold, rcat.catalog, n_boot=1000))
    out["setup"]["gold_mentions_seconds"] = round(time.time() - t1, 1)
    print("chatrec_gold_mentions", {k: out["chatrec_gold_mentions"][k] for k in redial.METRIC_KEYS}, flush=True)
    # baselines: the same path without the learned head (set weights), and the benchmark-side co-mention model
    # (training-dialogue statistics over the whole catalog) alone and blended with the no-head ranking
    head, rec.head = rec.head, None
    plain = redial.collect(rec, conversations, rcat.canonical, progress=True)
    # every signal off but the one a baseline names (the defaults of `Weights` are the blend's, not zero)
    zero = baselines.Weights(**{f.name: 0.0 for f in dataclasses.fields(baselines.Weights)
                                if f.name != "recency"}, recency=weights.recency)
    variants = {
        "no_head": (plain, None, None),
        "popularity_train_mentions": (plain, model, dataclasses.replace(zero, popularity=1.0)),
        "comention_only": (plain, model, dataclasses.replace(zero, comention=1.0, popularity=0.01)),
        # what training recommenders named after the films this dialogue has mentioned
        "directed_only": (plain, model, dataclasses.replace(zero, directed=1.0, popularity=0.01)),
        "comention_blend": (plain, model, weights),
    }
    pipeline_details = None
    for name, (recs, m, w) in variants.items():
        score = None if m is None else (lambda r, m=m, w=w: baselines.blend_scores(r, m, w, len(rcat.catalog)))
        res = redial.evaluate_records(recs, rcat.catalog, score, with_ranks=name == "comention_blend",
                                      n_boot=1000 if name == "comention_blend" else 0)
        if name == "comention_blend":
            pipeline_details = res.pop("turns")
        out[name] = redial.rounded(res)
        print(name, {k: out[name][k] for k in redial.METRIC_KEYS}, "strict",
              {k: out[name]["strict"][k] for k in redial.METRIC_KEYS}, flush=True)
    rec.head = head  # the simulated users talk to the chat with its learned head
    # where do the misses come from? linked vs unlinked targets, and whether the seeker's titles were linked
    linked = [r for t in details for tid, r in zip(t["targets"], t["ranks"]) if tid in rcat.ml_of]
    unlinked = [r for t in details for tid, r in zip(t["targets"], t["ranks"]) if tid not in rcat.ml_of]
    out["by_link"] = {"linked": redial.rounded(metrics_from_ranks(linked, redial.KS)),
                      "unlinked": redial.rounded(metrics_from_ranks(unlinked, redial.KS))}
    out["linking"] = seeker_linking(conversations, rcat, rec)
    if args.simulate:
        targets = simulator.sample_targets(rcat.catalog, redial.mentioned_films(rcat, conversations), args.simulate,
                                           args.seed)
        sim = simulator.simulate(rec, targets, args.max_turns, args.seed, progress=True)
        out["simulator"] = {k: v for k, v in sim.items() if k != "results"}
        out["simulator"]["examples"] = sim["results"][:4]
        print("simulator", out["simulator"]["success_rate"], flush=True)
    else:
        sim = None
    out["setup"]["seconds"] = round(time.time() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    if args.details:
        Path(args.details).write_text(json.dumps({"turns": details, "blend_turns": pipeline_details,
                                                 "simulator": sim["results"] if sim else None}, ensure_ascii=False))


def seeker_linking(conversations, rcat, rec) -> dict:
    """Of the films seekers name (typed as titles), how many does the intent parser's title matcher link
    to the right catalog item? And how many of those are linked to MovieLens?"""
    said = found = 0
    for conv in conversations:
        names = dict(conv.movie_names)
        for msg in conv.messages:
            if msg.role != "seeker" or not msg.mentions:
                continue
            text = redial.replace_mentions(msg.text, names)
            got = {t[0] for t in rec.rules.find_titles(text)}
            for rid in msg.mentions:
                said += 1
                found += rcat.canonical.get(rid, rid) in got
    return {"seeker_mentions": said, "linked_by_title_matcher": found, "rate": round(found / said, 4) if said else None}


if __name__ == "__main__":
    main()
