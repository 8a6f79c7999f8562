"""The Gradio app: a thin layer over `Recommender` / `ChatSession`.

Each browser tab (and each `gradio_client.Client`) gets its own `ChatSession`, kept server-side in a
bounded registry and reached through an opaque key held in `gr.State`, so nothing heavy is deep-copied
and no session can see another's. Named API endpoints for scripted clients:

    /chat      message: str                          -> the CLI's JSON object
    /feedback  position: int, kind: "like"|"dislike"|"seen"   -> a JSON object of the same shape
"""
from __future__ import annotations

import html
import os
import secrets
import threading
from collections import OrderedDict

import gradio as gr

from .config import Config
from .dialogue import ChatSession, Recommender


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
            session = self.rec.session(user_id)
            self._sessions[key] = session
            while len(self._sessions) > self.capacity:
                self._sessions.popitem(last=False)
            return key, session


def _item_choices(result: dict) -> list[str]:
    return [f"{n}. {it['title']}" + (f" ({it['year']})" if it.get("year") else "")
            for n, it in enumerate(result.get("items", []), 1)]


def _profile_markdown(session: ChatSession) -> str:
    p = session.profile_json()
    def block(name, entries):
        if not entries:
            return f"**{name}:** nothing yet"
        return f"**{name}:** " + ", ".join(html.escape(e["title"]) for e in entries[:20])
    return "\n\n".join([block("Liked", p["liked"]), block("Disliked", p["disliked"]), block("Seen", p["seen"])])


def build_app(rec: Recommender) -> gr.Blocks:
    registry = SessionRegistry(rec)

    def api_chat(message: str, key: str | None):
        key, session = registry.get(key)
        return session.handle(message if isinstance(message, str) else ""), key

    def api_feedback(position, kind: str, key: str | None):
        key, session = registry.get(key)
        try:
            position = int(position)
        except (TypeError, ValueError):
            position = -1
        return session.feedback(position, str(kind).lower().strip()), key

    def respond(message: str, history: list, key: str | None):
        key, session = registry.get(key)
        result = session.handle(message or "")
        history = list(history or [])
        history.append({"role": "user", "content": html.escape(message or "")})
        history.append({"role": "assistant", "content": result["reply"]})
        choices = _item_choices(result)
        radio = gr.update(choices=choices, value=None) if choices else gr.update()
        return "", history, key, radio, _profile_markdown(session)

    def item_feedback(choice: str | None, kind: str, history: list, key: str | None):
        key, session = registry.get(key)
        history = list(history or [])
        if not choice:
            history.append({"role": "assistant", "content": "Pick an item from the last list first."})
            return history, key, _profile_markdown(session)
        position = int(choice.split(".", 1)[0])
        result = session.feedback(position, kind)
        history.append({"role": "assistant", "content": result["reply"]})
        return history, key, _profile_markdown(session)

    def message_vote(data: gr.LikeData, history: list, key: str | None):
        key, session = registry.get(key)
        history = list(history or [])
        note = "Thanks! Glad that helped." if data.liked else "Sorry about that. Tell me what to change (“older”, “no horror”, “more like #2”)."
        history.append({"role": "assistant", "content": note})
        return history, key

    with gr.Blocks(title="chatrec") as demo:
        key = gr.State(None)
        gr.Markdown("## chatrec\nTell me what you feel like watching. I recommend from "
                    f"{len(rec.catalog):,} films, explain each pick, and learn from your 👍 and 👎.")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=480)
                with gr.Row():
                    box = gr.Textbox(placeholder="e.g. something like Alien but less gory", show_label=False,
                                     scale=5, max_length=rec.config.max_message_chars, autofocus=True)
                    send = gr.Button("Send", variant="primary", scale=1)
                gr.Examples(["something like Alien but less gory", "comedies from the 90s", "no horror",
                             "more like the second one", "older"], inputs=box)
            with gr.Column(scale=2):
                items = gr.Radio(choices=[], label="Last recommendations")
                with gr.Row():
                    like_btn = gr.Button("👍 Like")
                    dislike_btn = gr.Button("👎 Dislike")
                    seen_btn = gr.Button("Seen it")
                profile_md = gr.Markdown("**Liked:** nothing yet", label="Your profile")
        # API-only endpoints, each with the same per-client session as the UI uses
        with gr.Row(visible=False):
            api_msg = gr.Textbox()
            api_pos = gr.Number(precision=0)
            api_kind = gr.Textbox()
            api_out = gr.JSON()
            api_chat_btn = gr.Button()
            api_fb_btn = gr.Button()

        outputs = [box, chatbot, key, items, profile_md]
        box.submit(respond, [box, chatbot, key], outputs, api_name=False)
        send.click(respond, [box, chatbot, key], outputs, api_name=False)
        for btn, kind in ((like_btn, "like"), (dislike_btn, "dislike"), (seen_btn, "seen")):
            btn.click(item_feedback, [items, gr.State(kind), chatbot, key], [chatbot, key, profile_md], api_name=False)
        chatbot.like(message_vote, [chatbot, key], [chatbot, key], api_name=False)
        api_chat_btn.click(api_chat, [api_msg, key], [api_out, key], api_name="chat")
        api_fb_btn.click(api_feedback, [api_pos, api_kind, key], [api_out, key], api_name="feedback")
    return demo


def launch(config: Config | None = None, **launch_kwargs) -> None:
    """Load everything (building the index on first start, with a progress bar), then serve."""
    config = config or Config.from_env()
    print("chatrec: loading the catalog and the index (the first start builds the index) ...", flush=True)
    rec = Recommender.from_config(config, progress=True)
    demo = build_app(rec)
    demo.queue(default_concurrency_limit=int(os.environ.get("CHATREC_CONCURRENCY", "4")))
    demo.launch(**launch_kwargs)
