"""The Gradio app: a thin layer over `Recommender` / `ChatSession`.

Each browser tab (and each `gradio_client.Client`) gets its own `ChatSession`, kept server-side in a
bounded registry and reached through an opaque key held in `gr.State`, so nothing heavy is deep-copied
and no session can see another's. A returning browser gets its user id back from `gr.BrowserState`
(localStorage, encrypted with a server secret); the id is random and unguessable.

Named API endpoints for scripted clients (one `gradio_client.Client` = one conversation):

    /chat      message: str                                   -> the CLI's JSON object
    /feedback  position: int, kind: "like"|"dislike"|"seen"   -> the same shape
    /rate      position: int, stars: 1-5                       -> the same shape
    /critique  name: newer|older|lighter|darker|more_like|less_like, position: int (for more/less_like)
    /profile   -> what chatrec believes about this user (JSON)
    /forget    -> deletes this user's data
"""
from __future__ import annotations

import html
import json
import os
import secrets
import sys
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import gradio as gr

from .config import Config
from .dialogue import ChatSession, Recommender
from .errors import ChatrecError

EXAMPLES = ["something like Alien but less gory", "comedies from the 90s", "a heist film, no horror",
            "animated films for kids", "I loved Spirited Away"]


class SessionRegistry:
    """Sessions by opaque key, least recently used dropped past `capacity` (their profiles stay stored)."""

    def __init__(self, rec: Recommender, capacity: int = 5000):
        self.rec = rec
        self.capacity = capacity
        self._sessions: OrderedDict[str, ChatSession] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str | None, user_id: str | None = None) -> tuple[str, ChatSession]:
        with self._lock:
            if key and key in self._sessions:
                self._sessions.move_to_end(key)
                return key, self._sessions[key]
            key = secrets.token_urlsafe(16)
            try:
                session = self.rec.session(user_id)
            except ChatrecError:  # a tampered id from the browser: start a fresh user
                session = self.rec.session()
            self._sessions[key] = session
            while len(self._sessions) > self.capacity:
                self._sessions.popitem(last=False)
            return key, session


def _browser_secret(config: Config) -> str:
    """A stable secret so the browser's stored id survives app restarts; kept beside the profile database."""
    if os.environ.get("CHATREC_BROWSER_SECRET"):
        return os.environ["CHATREC_BROWSER_SECRET"]
    path = Path(config.profile_db).parent / "browser_secret"
    try:
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        path.write_text(value)
        path.chmod(0o600)
        return value
    except OSError:
        return secrets.token_urlsafe(32)  # ids then last until the app restarts


def _item_choices(result: dict) -> list[str]:
    return [f"{n}. {it['title']}" + (f" ({it['year']})" if it.get("year") else "")
            for n, it in enumerate(result.get("items", []), 1)]


def _position(choice: str | None) -> int | None:
    try:
        return int(str(choice).split(".", 1)[0])
    except (TypeError, ValueError):
        return None


def _profile_view(session: ChatSession):
    """(markdown summary, removable entries) of what chatrec believes."""
    p = session.profile_json()
    def names(entries):
        return ", ".join(html.escape(e["title"]) for e in entries[:15]) or "nothing yet"
    lines = [f"**Liked:** {names(p['liked'])}", f"**Disliked:** {names(p['disliked'])}",
             f"**Seen:** {names(p['seen'])}",
             "**Ratings:** " + (", ".join(f"{html.escape(r['title'])} {r['stars']:g}★" for r in p["ratings"][:15])
                                or "none yet"),
             "**Favourite genres:** " + (", ".join(p["favourite_genres"]) or "not known yet"),
             "**Recent critiques:** " + (", ".join(html.escape(c) for c in p["recent_critiques"]) or "none")]
    entries = {}
    for kind in ("liked", "disliked", "seen"):
        for e in p[kind]:
            entries[f"{kind}: {e['title']}"] = e["item_id"]
    for r in p["ratings"]:
        entries.setdefault(f"rated {r['stars']:g}★: {r['title']}", r["item_id"])
    return "\n\n".join(lines), entries


def build_app(rec: Recommender, browser_secret: str | None = None) -> gr.Blocks:
    registry = SessionRegistry(rec)
    secret = browser_secret or _browser_secret(rec.config)

    # ---------------------------------------------------------------- API-only handlers
    def api_chat(message: str, key: str | None):
        key, session = registry.get(key)
        return session.handle(message if isinstance(message, str) else ""), key

    def api_feedback(position, kind: str, key: str | None):
        key, session = registry.get(key)
        return session.feedback(_as_int(position), str(kind).lower().strip()), key

    def api_rate(position, stars, key: str | None):
        key, session = registry.get(key)
        try:
            value = float(stars)
        except (TypeError, ValueError):
            value = None
        return session.feedback(_as_int(position), "rating", value), key

    def api_critique(name: str, position, key: str | None):
        key, session = registry.get(key)
        return session.critique(str(name), _as_int(position) if position not in (None, "") else None), key

    def api_profile(key: str | None):
        key, session = registry.get(key)
        return session.profile_json(), key

    def api_forget(key: str | None):
        key, session = registry.get(key)
        return session.forget(), key

    # ---------------------------------------------------------------- UI handlers
    def on_load(saved_uid: str | None, key: str | None):
        key, session = registry.get(key, saved_uid or None)
        summary, entries = _profile_view(session)
        greeting = ("Welcome back! I remember what you liked. What are you in the mood for?" if entries else
                    "Hi! Tell me what you feel like watching, or pick a few genres under “New here?”.")
        return key, session.user_id, [{"role": "assistant", "content": greeting}], summary, \
            gr.update(choices=list(entries), value=None)

    def ui_outputs(session: ChatSession, history: list, result: dict | None, note: str | None = None):
        history = list(history or [])
        if note:
            history.append({"role": "assistant", "content": note})
        summary, entries = _profile_view(session)
        choices = _item_choices(result) if result else []
        radio = gr.update(choices=choices, value=None) if choices else gr.update()
        return history, radio, summary, gr.update(choices=list(entries), value=None)

    def respond(message: str, history: list, key: str | None):
        key, session = registry.get(key)
        result = session.handle(message or "")
        history = list(history or []) + [{"role": "user", "content": html.escape(message or "")}]
        return ("", key, *ui_outputs(session, history, result, result["reply"]))

    def item_feedback(choice: str | None, kind: str, stars, history: list, key: str | None):
        key, session = registry.get(key)
        pos = _position(choice)
        if pos is None:
            return (key, *ui_outputs(session, history, None, "Pick an item from the last list first."))
        result = session.feedback(pos, kind, float(stars) if kind == "rating" else None)
        return (key, *ui_outputs(session, history, None, result["reply"]))

    def critique(name: str, choice: str | None, history: list, key: str | None):
        key, session = registry.get(key)
        result = session.critique(name, _position(choice))
        history = list(history or []) + [{"role": "user", "content": name.replace("_", " ") +
                                          (f" #{_position(choice)}" if name.endswith("_like") and choice else "")}]
        return (key, *ui_outputs(session, history, result, result["reply"]))

    def remove_entry(label: str | None, history: list, key: str | None):
        key, session = registry.get(key)
        _, entries = _profile_view(session)
        if not label or label not in entries:
            return (key, *ui_outputs(session, history, None, "Choose an entry of your profile to remove."))
        result = session.remove(entries[label])
        return (key, *ui_outputs(session, history, None, result["reply"]))

    def forget(history: list, key: str | None):
        key, session = registry.get(key)
        result = session.forget()
        return (key, *ui_outputs(session, [], None, result["reply"]))

    def export(key: str | None):
        key, session = registry.get(key)
        path = Path(tempfile.mkdtemp(prefix="chatrec-export-")) / "chatrec-profile.json"
        path.write_text(json.dumps(session.export(), indent=2, ensure_ascii=False))
        return key, gr.update(value=str(path), visible=True)

    def onboard(genres: list[str], favourites: str, history: list, key: str | None):
        key, session = registry.get(key)
        result = session.onboard(genres or [], favourites or "")
        said = ", ".join(genres or []) + (f" — {favourites}" if favourites else "")
        history = list(history or []) + [{"role": "user", "content": html.escape(said or "Just show me something")}]
        return (key, *ui_outputs(session, history, result, result["reply"]))

    def message_vote(data: gr.LikeData, history: list, key: str | None):
        key, session = registry.get(key)
        note = ("Thanks! Glad that helped." if data.liked else
                "Sorry about that. Tell me what to change (“older”, “no horror”, “more like #2”) or 👎 an item.")
        return key, list(history or []) + [{"role": "assistant", "content": note}]

    # ---------------------------------------------------------------- layout
    with gr.Blocks(title="chatrec") as demo:
        key = gr.State(None)
        uid = gr.BrowserState("", storage_key="chatrec_user", secret=secret)
        gr.Markdown("## 🎬 chatrec\nTell me what you feel like watching. I pick from "
                    f"{len(rec.catalog):,} films, say why each fits, and learn from every 👍, 👎 and critique.")
        with gr.Row():
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(label="Chat", height=460)
                with gr.Row():
                    box = gr.Textbox(placeholder="e.g. something like Alien but less gory", show_label=False,
                                     scale=5, max_length=rec.config.max_message_chars, autofocus=True)
                    send = gr.Button("Send", variant="primary", scale=1, min_width=80)
                with gr.Row():
                    crit_buttons = {name: gr.Button(label, size="sm", min_width=60) for name, label in (
                        ("newer", "Newer"), ("older", "Older"), ("lighter", "Lighter"), ("darker", "Darker"),
                        ("more_like", "More like selected"), ("less_like", "Less like selected"))}
                gr.Examples(EXAMPLES, inputs=box, label="Try")
            with gr.Column(scale=2, min_width=280):
                items = gr.Radio(choices=[], label="Last recommendations (select one)")
                with gr.Row():
                    like_btn = gr.Button("👍 Like", size="sm", min_width=60)
                    dislike_btn = gr.Button("👎 Dislike", size="sm", min_width=60)
                    seen_btn = gr.Button("👁 Seen it", size="sm", min_width=60)
                with gr.Row():
                    stars = gr.Slider(1, 5, value=4, step=1, label="Stars", scale=3)
                    rate_btn = gr.Button("Rate", size="sm", scale=1, min_width=60)
                with gr.Accordion("New here? Pick a few", open=False):
                    genres = gr.CheckboxGroup(rec.catalog.genres, label="Genres you enjoy")
                    favourites = gr.Textbox(label="Films you love (optional)", placeholder="e.g. Alien, Toy Story")
                    start_btn = gr.Button("Start with these")
                with gr.Accordion("Your profile", open=True):
                    profile_md = gr.Markdown("**Liked:** nothing yet")
                    entries = gr.Dropdown(choices=[], label="Remove an entry", interactive=True)
                    with gr.Row():
                        remove_btn = gr.Button("Remove", size="sm")
                        export_btn = gr.Button("Export JSON", size="sm")
                        forget_btn = gr.Button("Forget me", size="sm", variant="stop")
                    export_file = gr.File(label="Your data", visible=False)
        # API-only endpoints, each with the same per-client session as the UI uses
        with gr.Row(visible=False):
            api_text = gr.Textbox()
            api_num, api_num2 = gr.Number(precision=0), gr.Number()
            api_out = gr.JSON()
            api_buttons = [gr.Button() for _ in range(6)]

        ui = [chatbot, items, profile_md, entries]
        demo.load(on_load, [uid, key], [key, uid, chatbot, profile_md, entries], api_name=False)
        box.submit(respond, [box, chatbot, key], [box, key, *ui], api_name=False)
        send.click(respond, [box, chatbot, key], [box, key, *ui], api_name=False)
        for btn, kind in ((like_btn, "like"), (dislike_btn, "dislike"), (seen_btn, "seen"), (rate_btn, "rating")):
            btn.click(item_feedback, [items, gr.State(kind), stars, chatbot, key], [key, *ui], api_name=False)
        for name, btn in crit_buttons.items():
            btn.click(critique, [gr.State(name), items, chatbot, key], [key, *ui], api_name=False)
        remove_btn.click(remove_entry, [entries, chatbot, key], [key, *ui], api_name=False)
        forget_btn.click(forget, [chatbot, key], [key, *ui], api_name=False)
        export_btn.click(export, [key], [key, export_file], api_name=False)
        start_btn.click(onboard, [genres, favourites, chatbot, key], [key, *ui], api_name=False)
        chatbot.like(message_vote, [chatbot, key], [key, chatbot], api_name=False)

        chat_b, fb_b, rate_b, crit_b, prof_b, forget_b = api_buttons
        chat_b.click(api_chat, [api_text, key], [api_out, key], api_name="chat")
        fb_b.click(api_feedback, [api_num, api_text, key], [api_out, key], api_name="feedback")
        rate_b.click(api_rate, [api_num, api_num2, key], [api_out, key], api_name="rate")
        crit_b.click(api_critique, [api_text, api_num, key], [api_out, key], api_name="critique")
        prof_b.click(api_profile, [key], [api_out, key], api_name="profile")
        forget_b.click(api_forget, [key], [api_out, key], api_name="forget")
    return demo


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def launch(config: Config | None = None, **launch_kwargs) -> None:
    """Load everything (building the index on first start, with a progress bar), then serve."""
    config = config or Config.from_env()
    print("chatrec: loading the catalog and the index (the first start builds the index) ...", flush=True)
    try:
        rec = Recommender.from_config(config, progress=True)
    except ChatrecError as exc:
        print(f"chatrec: cannot start: {exc}", file=sys.stderr)
        sys.exit(2)
    demo = build_app(rec)
    # The rule path is fast and thread-safe; the embedded LLM serialises itself with a lock.
    demo.queue(default_concurrency_limit=int(os.environ.get("CHATREC_CONCURRENCY", "4")))
    demo.launch(**launch_kwargs)


def mount(app, path: str = "/chatrec", config: Config | None = None):
    """Mount the chat (UI and API endpoints) inside an existing FastAPI app at `path`."""
    rec = Recommender.from_config(config or Config.from_env(), progress=True)
    demo = build_app(rec)
    demo.queue(default_concurrency_limit=int(os.environ.get("CHATREC_CONCURRENCY", "4")))
    return gr.mount_gradio_app(app, demo, path=path)
