"""`chatrec` command line: a thin layer over the library.

    chatrec build-index [--rebuild]
    chatrec chat [--json] [--user ID]
    chatrec serve [--host H] [--port P]
    chatrec profile show|export|forget|link --user ID
    chatrec profile check|recover [--out FILE]
    chatrec train [--loss bce|bpr] [--epochs N] [--incremental [--tolerance T]]
    chatrec evaluate [--json] [--seeds N] [--quick] [--report-dir DIR]
    chatrec evaluate-crs [...]   (chatrec.evaluation.redial; imported only when it runs)
"""
from __future__ import annotations

import importlib
import json
import logging
import sys

import click

from chatrec.config import Config
from chatrec.errors import ChatrecError

_common = [
    click.option("--catalog", help="MovieLens folder or .csv/.jsonl catalog (default: bundled MovieLens)."),
    click.option("--index-dir", help="Where the vector index lives (default: ./index in the project)."),
    click.option("--profile-db", help="SQLite file for profiles and feedback."),
    click.option("--embedder", help="minilm (default), use (multilingual USE), hashing, or a sentence-transformers "
                 "model folder."),
    click.option("--llm", type=click.Choice(["none", "embedded", "openai", "fake"]), help="LLM backend (default: none)."),
]


def common_options(fn):
    for option in reversed(_common):
        fn = option(fn)
    return fn


def make_config(**kwargs) -> Config:
    return Config.from_env(**{k: v for k, v in kwargs.items() if k in Config.__dataclass_fields__})


def fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


class LazyGroup(click.Group):
    """Commands that live beside the code they run (the ReDial benchmark) are imported only when invoked,
    so `chatrec chat` never loads evaluation code (the pattern from click's documentation)."""

    lazy = {"evaluate-crs": "chatrec.evaluation.redial:evaluate_crs_cmd"}

    def list_commands(self, ctx):
        return sorted(list(super().list_commands(ctx)) + list(self.lazy))

    def get_command(self, ctx, name):
        if name in self.lazy:
            module, attr = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup)
@click.version_option(package_name="chatrec")
def main():
    """chatrec: an offline conversational recommender."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@main.command("build-index")
@common_options
@click.option("--rebuild", is_flag=True, help="Drop the index and embed every item again.")
@click.option("--save-cache", is_flag=True, help="Also write the vectors to <catalog>/embeddings/ so a fresh "
              "install can build the index without embedding.")
def build_index_cmd(rebuild, save_cache, **kwargs):
    """Embed the catalog into the Chroma index (incremental: unchanged items are skipped)."""
    from chatrec.catalog import load_catalog
    from chatrec.retrieval.embed import embedder_for
    from chatrec.retrieval.index import VectorIndex, build_index, cache_path, save_embedding_cache

    config = make_config(**kwargs)
    try:
        catalog = load_catalog(config.catalog)
        for problem in catalog.problems:
            click.echo(f"warning: {problem}", err=True)
        embedder = embedder_for(config)
        stats = build_index(catalog, embedder, config, rebuild=rebuild, progress=True)
    except ChatrecError as exc:
        fail(exc)
    click.echo(f"index {config.index_dir}: {len(catalog)} items ({embedder.name}); {stats.summary()}")
    if save_cache:
        path = cache_path(config, embedder)
        save_embedding_cache(VectorIndex.open(catalog, embedder, config), path)
        click.echo(f"embedding cache written to {path}")


@main.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Read one message per stdin line, print one JSON object per line.")
@click.option("--user", "user_id", help="User id whose stored profile to use (default: a new anonymous id).")
def chat(as_json, user_id, **kwargs):
    """Chat in the terminal (or, with --json, as a line-based API for scripts)."""
    from chatrec.chat.recommender import Recommender

    from chatrec.app.identity import is_web_user

    config = make_config(**kwargs)
    try:
        if user_id is not None and is_web_user(user_id):
            raise ChatrecError(f"{user_id[:40]!r} is a web user's id (they start with w_): web and command-line "
                               "users are kept apart; choose another --user")
        rec = Recommender.from_config(config, progress=not as_json)
        session = rec.session(user_id)
        if session.store_fault:  # the profile database is there but cannot be read: stop, naming it
            raise ChatrecError(session.store_fault)
    except ChatrecError as exc:
        if as_json:
            print(json.dumps({"error": str(exc)}), flush=True)
        fail(exc)
    # a line that is not valid UTF-8 is read with U+FFFD in place of the bad bytes and answered like any other
    sys.stdin.reconfigure(errors="replace")
    if as_json:
        for raw in sys.stdin:
            line = raw.rstrip("\n")
            print(json.dumps(session.handle(line).to_json(), ensure_ascii=False), flush=True)
        return
    click.echo(f"chatrec: {len(rec.catalog):,} films. Type a wish, /like N, /dislike N, or 'bye'. (user {session.user_id})")
    while True:
        try:
            line = input("you> ")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            break
        reply = session.handle(line)
        click.echo(reply.text)
        if reply.intent["kind"] == "goodbye":
            break


@main.command()
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1, or GRADIO_SERVER_NAME).")
@click.option("--port", type=int, default=None, help="Port (default 7860, or GRADIO_SERVER_PORT).")
def serve(host, port):
    """Start the Gradio web app."""
    from chatrec.app.web import launch

    launch(**({"server_name": host} if host else {}), **({"server_port": port} if port else {}))


@main.command()
@common_options
@click.option("--model-dir", help="Where the checkpoint is written (default: ./models in the project).")
@click.option("--loss", type=click.Choice(["bce", "bpr"]), default=None, help="Training loss (default: bpr, the better on temporal validation).")
@click.option("--epochs", type=int, default=None, help="Most epochs; early stopping usually ends sooner (default 20).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--incremental", is_flag=True, help="Fine-tune the existing checkpoint on feedback events it has not "
              "learned from yet (mixed with replayed ratings); keep it only if validation NDCG@10 does not regress.")
@click.option("--tolerance", type=float, default=None, help="With --incremental: the largest validation NDCG@10 "
              "drop still accepted (default: CHATREC_RETRAIN_TOLERANCE).")
def train(loss, epochs, seed, incremental, tolerance, **kwargs):
    """Train the fusion reranker on the catalog's ratings and save models/fusion.pt."""
    from chatrec.training.fit import train_catalog

    config = make_config(**kwargs)
    if incremental:
        _train_incremental(config, epochs, seed, tolerance, loss)
        return
    try:
        summary = train_catalog(config, loss=loss, epochs=epochs, seed=seed, progress=True)
    except ChatrecError as exc:
        fail(exc)
    click.echo(f"checkpoint {summary['path']}: best epoch {summary['best_epoch']} of {summary['epochs_run']}, "
               f"validation NDCG@10 {summary['val_ndcg@10']:.4f}, {summary['interactions']:,} interactions, "
               f"{summary['seconds']:.0f} s")
    click.echo(f"collaborative item vectors {summary['collab']}")


def _train_incremental(config: Config, epochs, seed, tolerance, loss) -> None:
    from chatrec.training.continual import train_incremental

    if loss is not None:
        click.echo("note: --loss is ignored with --incremental (fine-tuning keeps the checkpoint's loss)", err=True)
    try:
        res = train_incremental(config, epochs=epochs, seed=seed, tolerance=tolerance, progress=True)
    except ChatrecError as exc:
        fail(exc)
    if res.status == "no_new_events":
        click.echo(res.reason)
        return
    click.echo(f"fine-tuned on {res.new_rows:,} new feedback rows ({res.new_events:,} new events, {res.new_users} "
               f"users the checkpoint did not know) + {res.replay_rows:,} replayed ratings, "
               f"{len(res.curve)} epochs, {res.seconds:.0f} s")
    click.echo(f"{res.status}: {res.reason} ({res.path}; events up to #{res.events_until} learned)")


@main.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object {protocol: {model: {metric: mean}}}.")
@click.option("--seeds", type=int, default=3, show_default=True, help="Seeds per model (mean ± std).")
@click.option("--quick", is_flag=True, help="Two-point grids and 2 epochs: a smoke test, not a benchmark.")
@click.option("--protocol", "protocols", multiple=True, type=click.Choice(["temporal", "random"]),
              help="Run only these protocols (default: both).")
@click.option("--report-dir", default=None, help="Where evaluation.md and the plots go (default: ./reports).")
def evaluate(as_json, seeds, quick, protocols, report_dir, **kwargs):
    """Offline evaluation on MovieLens: the fusion model against popularity, ItemKNN, ALS, BPR, text and MF."""
    from pathlib import Path

    from chatrec.config import ROOT
    from chatrec.evaluation.offline import RunOptions, run_all, summarise, write_report

    config = make_config(**kwargs)
    opts = RunOptions(seeds=seeds, quick=quick, progress=False)
    if protocols:
        opts.protocols = tuple(protocols)
    log = (lambda msg: click.echo(msg, err=True)) if as_json else click.echo
    try:
        run = run_all(config, opts, log=log)
    except ChatrecError as exc:
        fail(exc)
    if as_json:
        print(json.dumps(summarise(run["results"])), flush=True)
        return
    path = write_report(run, Path(report_dir) if report_dir else ROOT / "reports")
    click.echo(f"report written to {path} ({run['seconds'] / 60:.1f} min)")


@main.group()
def profile():
    """Show, export or delete what chatrec stores about a user."""


def _store(profile_db):
    from chatrec.profile.store import open_store

    return open_store(make_config(profile_db=profile_db).profile_db)


@profile.command("show")
@click.option("--user", "user_id", required=True)
@click.option("--profile-db")
def profile_show(user_id, profile_db):
    _print_json(lambda: _store(profile_db).load(user_id).to_dict())


@profile.command("export")
@click.option("--user", "user_id", required=True)
@click.option("--profile-db")
def profile_export(user_id, profile_db):
    _print_json(lambda: _store(profile_db).export(user_id))


def _print_json(get) -> None:
    try:
        click.echo(json.dumps(get(), indent=2, ensure_ascii=False))
    except ChatrecError as exc:
        fail(exc)


@profile.command("forget")
@click.option("--user", "user_id", required=True)
@click.option("--profile-db")
def profile_forget(user_id, profile_db):
    """Delete a user's events, profile vector and stored conversations."""
    from chatrec.profile.dialogues import open_dialogues

    try:
        store = _store(profile_db)
        n = store.forget(user_id)
        dialogues = open_dialogues(make_config(profile_db=profile_db), store)
        if dialogues is not None:
            dialogues.forget_dialogues(user_id)  # a Redis dialogue store (the database's went with the events)
    except ChatrecError as exc:
        fail(exc)
    _forget_exports(user_id)
    click.echo(f"deleted {n} events and the profile of {user_id}")


def _forget_exports(user_id: str) -> None:
    """The files the web app exported for this user, in Gradio's cache on this machine (where the app's
    "Download my data" put them)."""
    import shutil
    from pathlib import Path

    from chatrec.app.handlers import export_folder
    from gradio.utils import get_upload_folder

    shutil.rmtree(export_folder(Path(get_upload_folder()) / "chatrec-exports", user_id), ignore_errors=True)


@profile.command("check")
@click.option("--profile-db")
def profile_check(profile_db):
    """Read the whole profile database; exit 1 (naming the file and the problems) when it is damaged."""
    path = make_config(profile_db=profile_db).profile_db
    try:
        store = _store(profile_db)
        problems = store.check()
        counts = None if problems else (store.count_after(0), len(store._read("SELECT user_id FROM profiles")))
    except ChatrecError as exc:
        problems = [str(exc)]
    if problems:
        click.echo(f"damaged: {path}", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        click.echo(f"rebuild what can be read into a new file with: chatrec profile recover --profile-db {path}",
                   err=True)
        sys.exit(1)
    click.echo(f"ok: {path}: {counts[0]} events, {counts[1]} profile vectors")


@profile.command("recover")
@click.option("--profile-db")
@click.option("--out", help="The new database file (default: <name>.recovered-<time>.sqlite3 beside it).")
def profile_recover(profile_db, out):
    """Copy every readable event, profile vector and conversation of a damaged SQLite profile database into a new
    file; the damaged one is left as it is."""
    from chatrec.profile.recover import recover

    path = make_config(profile_db=profile_db).profile_db
    if "://" in path and not path.startswith("sqlite:///"):
        fail(ChatrecError(f"recover works on SQLite files; {path.split('@')[-1]} is a server database "
                          "(use its own backups)"))
    try:
        result = recover(path.removeprefix("sqlite:///"), out)
    except ChatrecError as exc:
        fail(exc)
    click.echo(result.summary())
    for problem in result.problems:
        click.echo(f"note: {problem}", err=True)
    click.echo(f"to use it: stop the app, then mv {result.target} {path} (the damaged file stays until you do)")


@profile.command("link")
@click.option("--user", "user_id", required=True)
@click.option("--profile-db")
def profile_link(user_id, profile_db):
    """Print a signed token (valid 15 minutes) that lets one browser continue as this command-line user:
    paste it under "Link a command-line profile" in the web app."""
    from chatrec.app.identity import LINK_TTL_S, Signer, is_web_user

    if is_web_user(user_id):
        fail(ChatrecError("that is already a web user's id"))
    click.echo(Signer.from_config(make_config(profile_db=profile_db)).link(user_id))
    click.echo(f"(valid {LINK_TTL_S // 60} minutes; whoever holds it can use {user_id}'s profile)", err=True)


if __name__ == "__main__":
    main()
