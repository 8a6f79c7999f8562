"""Explanation benchmark: how fast the first words of an answer appear, how fast the LLM writes reasons, and
whether every title a reply names is real and shown.

    .venv/bin/python bench/explain/run.py [--limit 20] [--llm embedded|none|both] [--out reports/explain]

Requests are the English `recommend` utterances of bench/intent (single-turn, no context), run through the
chat pipeline exactly as the web app runs them (`ChatSession.handle_stream`: the list with catalog-template
reasons first, then one LLM-written reason per item, each checked by `explain.grounded`). Measured per request:

- time to first answer: message in → first yield (the list, readable), the number a person waits;
- per LLM reason: time to first token, generated tokens/s, whole reason time, kept (grounded) or replaced;
- reply check: every catalog title the final reply names is an item of the list or a title the person named.

Writes `<out>.md` and `<out>.json`. The LLM runs with the machine otherwise quiet; say so when it isn't.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from chatrec.config import Config  # noqa: E402
from chatrec.chat.recommender import Recommender  # noqa: E402
from chatrec.chat.explain import titles_in_text  # noqa: E402

UTTERANCES = ROOT / "bench" / "intent" / "utterances.jsonl"


class TimedLLM:
    """Wraps a backend: records time to first piece, pieces and total time of every streamed call."""

    def __init__(self, llm, tokenizer=None):
        self.llm, self.tokenizer, self.name = llm, tokenizer, llm.name
        self.calls: list[dict] = []

    def generate(self, messages, schema=None, stream=False, max_tokens=None):
        if not stream:
            return self.llm.generate(messages, schema=schema, stream=False, max_tokens=max_tokens)
        return self._timed(self.llm.generate(messages, schema=schema, stream=True, max_tokens=max_tokens))

    def _timed(self, pieces):
        start, first, text = time.perf_counter(), None, ""
        try:
            for piece in pieces:
                if first is None:
                    first = time.perf_counter() - start
                text += piece
                yield piece
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()
            total = time.perf_counter() - start
            tokens = len(self.tokenizer(text)["input_ids"]) if self.tokenizer is not None and text else len(text.split())
            self.calls.append({"ttft_s": first, "total_s": total, "tokens": tokens, "text": text})


def named_titles(text: str, catalog) -> set[str]:
    """Catalog titles the text names as titles: written with the title's own capitals (a reason that says
    "viewers tag it high school" does not name the film "High School"), at least two words or eight letters."""
    import re

    found = set()
    for item_id in titles_in_text(text, catalog, min_words=1):
        title = catalog[item_id].title
        if (len(title.split()) >= 2 or len(title) >= 8) and re.search(rf"(?<!\w){re.escape(title)}(?!\w)", text):
            found.add(item_id)
    return found


def pct(values, q):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[k]


def run(llm_kind: str, rows: list[dict], base: Recommender) -> dict:
    config = Config.from_env(llm=llm_kind)
    timed = None
    if llm_kind == "none":
        rec = base
    else:
        from chatrec.llm import get_llm

        llm = get_llm(config)
        timed = TimedLLM(llm, getattr(llm, "tokenizer", None))
        rec = Recommender(config, base.catalog, base.index, base.store, llm=timed, scorer=base.scorer)
        list(rec.session().handle_stream("comedies from the 90s"))  # warm-up: first-call costs aside
        timed.calls.clear()
    first_answer, whole, kept, total_reasons, bad_replies = [], [], 0, 0, []
    for row in rows:
        session = rec.session()
        start = time.perf_counter()
        steps = 0
        result = None
        for result in session.handle_stream(row["text"]):
            if steps == 0:
                first_answer.append(time.perf_counter() - start)
            steps += 1
        whole.append(time.perf_counter() - start)
        shown = {it["item_id"] for it in result["items"]}
        named = {i["item_id"] for i in result["intent"].get("liked", [])} | \
                {i["item_id"] for i in result["intent"].get("disliked", [])}
        extra = named_titles(result["reply"], rec.catalog) - shown - named
        # a shown title can contain another title ("Alien" inside "Aliens"): only count names not inside a shown one
        shown_titles = " ".join(rec.catalog[i].title for i in shown | named)
        extra = {i for i in extra if rec.catalog[i].title not in shown_titles}
        if extra:
            bad_replies.append({"text": row["text"], "unshown_titles": sorted(rec.catalog[i].title for i in extra)})
        if timed is not None:
            total_reasons += len(result["items"])
            kept += steps - 1
    out = {
        "requests": len(rows),
        "first_answer_p50_s": pct(first_answer, 50), "first_answer_p95_s": pct(first_answer, 95),
        "whole_answer_p50_s": pct(whole, 50), "whole_answer_p95_s": pct(whole, 95),
        "replies_all_titles_real_and_shown": 1 - len(bad_replies) / len(rows),
        "bad_replies": bad_replies,
    }
    if timed is not None:
        calls = timed.calls
        out.update({
            "llm": timed.name,
            "reasons": total_reasons,
            "reasons_kept_share": kept / total_reasons if total_reasons else None,
            "llm_ttft_p50_s": pct([c["ttft_s"] for c in calls], 50),
            "llm_ttft_p95_s": pct([c["ttft_s"] for c in calls], 95),
            "reason_p50_s": pct([c["total_s"] for c in calls], 50),
            "tokens_per_s": (sum(c["tokens"] for c in calls) / sum(c["total_s"] for c in calls)) if calls else None,
            "examples": [c["text"] for c in calls[:8]],
        })
    return out


def fmt(v, digits=3):
    return "–" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--llm", choices=["embedded", "none", "both"], default="both")
    ap.add_argument("--out", default=str(ROOT / "reports" / "explain"))
    args = ap.parse_args(argv)
    rows = [json.loads(line) for line in UTTERANCES.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["lang"] == "en" and r["kind"] == "recommend" and not r["context_items"]]
    step = max(1, len(rows) // args.limit)
    rows = rows[::step][:args.limit]
    import tempfile

    base = Recommender.from_config(Config.from_env(llm="none", profile_db=str(Path(tempfile.mkdtemp()) / "p.sqlite3")),
                                   progress=True)
    results = {}
    for kind in (["none", "embedded"] if args.llm == "both" else [args.llm]):
        print(f"running {len(rows)} requests with llm={kind} ...", flush=True)
        results[kind] = run(kind, rows, base)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch threads {__import__('torch').get_num_threads()}"
    lines = ["# Explanation benchmark", "", f"`bench/explain/run.py --limit {args.limit}` on {machine}; "
             f"{len(rows)} English single-turn requests from bench/intent; scorer: {base.scorer.name}.", "",
             "| backend | first answer p50 / p95 (s) | whole answer p50 / p95 (s) | LLM first token p50 / p95 (s) "
             "| one reason p50 (s) | tokens/s | reasons kept | replies: all titles real and shown |",
             "|---|---|---|---|---|---|---|---|"]
    for kind, r in results.items():
        lines.append(f"| {r.get('llm', 'none (templates)')} | {fmt(r['first_answer_p50_s'])} / {fmt(r['first_answer_p95_s'])} "
                     f"| {fmt(r['whole_answer_p50_s'])} / {fmt(r['whole_answer_p95_s'])} "
                     f"| {fmt(r.get('llm_ttft_p50_s'))} / {fmt(r.get('llm_ttft_p95_s'))} | {fmt(r.get('reason_p50_s'))} "
                     f"| {fmt(r.get('tokens_per_s'), 1)} | {fmt(r.get('reasons_kept_share'), 2)} "
                     f"| {fmt(r['replies_all_titles_real_and_shown'], 3)} |")
    for kind, r in results.items():
        if r.get("examples"):
            lines += ["", f"Raw LLM reasons ({r['llm']}, first {len(r['examples'])}; shown only if grounded):", ""]
            lines += [f"- {json.dumps(t, ensure_ascii=False)}" for t in r["examples"]]
        if r["bad_replies"]:
            lines += ["", f"Replies naming unshown titles ({kind}):", ""] + [f"- {b}" for b in r["bad_replies"]]
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + ".md").write_text(text)
    Path(args.out + ".json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
