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

from chatrec.config import Config
from chatrec.chat.recommender import Recommender, Settings
from chatrec.chat.session import ChatSession
from chatrec.errors import ChatrecError
from chatrec.lang import UI, from_accept_language, genre_label, t

GREETING = t("greeting", "en")
WELCOME_BACK = t("welcome_back", "en")
EXAMPLES = ["something like Alien but less gory", "comedies from the 90s", "a heist film, no horror",
            "animated films for kids", "I loved Spirited Away", "宫崎骏的动画", "九十年代的喜剧，不要爱情片"]


def ui_i18n(rec: Recommender) -> gr.I18n:
    """The interface strings in English and Simplified Chinese; the browser's locale picks one (zh, zh-CN, zh-TW
    ... fall back to "zh"). Gradio translates only what the page itself shows: replies follow the chat's language."""
    n = f"{len(rec.catalog):,}"
    tables = {lang: {k: v.replace("{n}", n) for k, v in strings.items()} for lang, strings in UI.items()}
    return gr.I18n(en=tables["en"], zh=tables["zh"], **{"zh-CN": tables["zh"]})


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

    def adopt(self, key: str, user_id: str) -> tuple[str, ChatSession | None]:
        """Point `key` at the stored user `user_id`; None when the id is not a valid one (then nothing changes)."""
        try:
            session = self.rec.session(user_id)
        except ChatrecError:
            return key, None
        with self._lock:
            self._sessions[key] = session
            self._sessions.move_to_end(key)
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


MAX_CARDS = 10
RATE_PROMPT = "Rate…"
CSS = """
.chatrec-card { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 4px 6px;
                margin-bottom: 8px; background: var(--background-fill-primary); }
.chatrec-card-body p { margin: 2px 0; }
.chatrec-card-actions { gap: 4px; flex-wrap: wrap; }
.chatrec-card-actions button { flex: 0 0 auto; }
@media (max-width: 640px) { .chatrec-card-actions button { min-width: 44px !important; } }
"""


def style(rec: Recommender | None = None) -> dict:
    """Theme, CSS and (given the recommender) the interface translations: in Gradio 6 these are `launch()` /
    `mount_gradio_app()` arguments."""
    out = {"theme": gr.themes.Soft(primary_hue="indigo", secondary_hue="slate"), "css": CSS}
    if rec is not None:
        out["i18n"] = ui_i18n(rec)
    return out

STATUS = {"like": "👍 You liked this", "dislike": "👎 Won't come back", "seen": "👁 Seen — won't come back",
          "rating": "★ You rated it {stars}/5"}
CRITIQUE_LABELS = {"newer": "Newer", "older": "Older", "lighter": "Lighter", "darker": "Darker",
                   "more_like": "More like", "less_like": "Less like"}


def _status(kind: str, lang: str, stars: str = "") -> str:
    return t(f"status_{kind}", lang, stars=stars) if kind == "rating" else t(f"status_{kind}", lang)


def _short(text: str, limit: int = 220) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _card_markdown(rec: Recommender, n: int, card: dict, lang: str = "en") -> str:
    """One card: title, year, genres, a short overview from the catalog, the reason, and what the user did."""
    item = rec.catalog.get(card["item_id"])
    title = html.escape(card["title"]) + (f" ({card['year']})" if card.get("year") else "")
    zh_name = rec.rules.zh_names.get(card["item_id"]) if lang == "zh" else None
    if zh_name:
        title = f"《{html.escape(zh_name)}》{title}"
    lines = [f"**{n}. {title}**", "*" + html.escape(" · ".join(genre_label(g, lang) for g in card.get("genres") or []))
             + "*" if card.get("genres") else ""]
    if item is not None and item.overview:
        lines.append(html.escape(_short(item.overview)))
    lines.append(f"**{t('why', lang)}:** {html.escape(card.get('explanation') or '')}")
    if card.get("status"):
        lines.append(f"**{card['status']}**")
    return "\n\n".join(line for line in lines if line)


def _card_updates(rec: Recommender, cards: list[dict], lang: str = "en") -> list:
    out = []
    for n in range(1, MAX_CARDS + 1):
        if n <= len(cards):
            out += [gr.update(visible=True), gr.update(value=_card_markdown(rec, n, cards[n - 1], lang)),
                    gr.update(value=RATE_PROMPT)]
        else:
            out += [gr.update(visible=False), gr.update(value=""), gr.update(value=RATE_PROMPT)]
    return out


def _profile_view(session: ChatSession):
    """(markdown summary, removable entries) of what chatrec believes."""
    p = session.profile_json()
    lang = session.lang
    def names(entries):
        return ", ".join(html.escape(e["title"]) for e in entries[:15]) or t("nothing_yet", lang)
    def head(key):
        return f"**{t(key, lang)}:** "
    lines = [head("p_liked") + names(p["liked"]), head("p_disliked") + names(p["disliked"]),
             head("p_seen") + names(p["seen"]),
             head("p_ratings") + (", ".join(f"{html.escape(r['title'])} {r['stars']:g}★" for r in p["ratings"][:15])
                                  or t("none_yet", lang)),
             head("p_genres") + (", ".join(genre_label(g, lang) for g in p["favourite_genres"])
                                 or t("not_known_yet", lang)),
             head("p_critiques") + (", ".join(html.escape(c) for c in p["recent_critiques"]) or t("none", lang))]
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
        return session.handle(message if isinstance(message, str) else "").to_json(), key

    def api_feedback(position, kind: str, key: str | None):
        key, session = registry.get(key)
        return session.feedback(_as_int(position), str(kind).lower().strip()).to_json(), key

    def api_rate(position, stars, key: str | None):
        key, session = registry.get(key)
        try:
            value = float(stars)
        except (TypeError, ValueError):
            value = None
        return session.feedback(_as_int(position), "rating", value).to_json(), key

    def api_critique(name: str, position, key: str | None):
        key, session = registry.get(key)
        return session.critique(str(name), _as_int(position) if position not in (None, "") else None).to_json(), key

    def api_profile(key: str | None):
        key, session = registry.get(key)
        return session.profile_json(), key

    def api_forget(key: str | None):
        key, session = registry.get(key)
        return session.forget().to_json(), key

    # ---------------------------------------------------------------- UI handlers
    # Every handler returns (key, *ui): ui = chatbot, profile markdown, profile entries, cards state, then one
    # (visible group, markdown, rating) triple per card slot.
    def ui_outputs(session: ChatSession, history: list, cards: list[dict] | None, note: str | None = None,
                   replace_last: bool = False):
        history = list(history or [])
        if note is not None:
            message = {"role": "assistant", "content": note}
            if replace_last and history and history[-1].get("role") == "assistant":
                history[-1] = message
            else:
                history.append(message)
        summary, entries = _profile_view(session)
        if cards is None:  # the list did not change
            return (history, summary, gr.update(choices=list(entries), value=None), gr.update(),
                    *[gr.update() for _ in range(3 * MAX_CARDS)])
        return (history, summary, gr.update(choices=list(entries), value=None), cards,
                *_card_updates(rec, cards, session.lang))

    def on_load(saved_uid: str | None, key: str | None, request: gr.Request):
        key, session = registry.get(key, saved_uid or None)
        if not session.state.turns:  # until the person writes, the browser's language is the best guess
            session.lang = from_accept_language(request.headers.get("accept-language") if request else None)
        summary, entries = _profile_view(session)
        greeting = t("welcome_back" if entries else "greeting", session.lang)
        return key, session.user_id, [{"role": "assistant", "content": greeting}], summary, \
            gr.update(choices=list(entries), value=None)

    def on_uid_change(saved_uid: str | None, key: str | None):
        """The browser's stored id can arrive after `load` ran (its component mounts lazily; a slow first visit
        loses that race). Adopt the stored user then, unless this tab already started a profile of its own;
        with nothing stored, store this session's id."""
        key, session = registry.get(key, saved_uid or None)
        if not saved_uid:
            return key, session.user_id, gr.update(), gr.update(), gr.update()
        if saved_uid == session.user_id:
            return key, gr.update(), gr.update(), gr.update(), gr.update()
        blank = not (session.profile.excluded or session.profile.critiques or session.state.turns)
        if blank:
            key, adopted = registry.adopt(key, saved_uid)
            if adopted is not None:
                adopted.lang = session.lang
                summary, entries = _profile_view(adopted)
                greeting = [{"role": "assistant", "content": t("welcome_back", adopted.lang)}] if entries else gr.update()
                return key, gr.update(), greeting, summary, gr.update(choices=list(entries), value=None)
        return key, session.user_id, gr.update(), gr.update(), gr.update()

    def respond(message: str, history: list, n_items, diversity, novelty, use_llm, key: str | None):
        """Streams: the user's message and a "thinking" line at once, then the list (template reasons), then
        each item's LLM-written reason as it is ready."""
        key, session = registry.get(key)
        session.settings = Settings(n_items, diversity, novelty, bool(use_llm)).clamp()
        history = list(history or []) + [{"role": "user", "content": html.escape(message or "")},
                                         {"role": "assistant", "content": "…"}]
        yield ("", key, *ui_outputs(session, history, None))
        for result in session.handle_stream(message or ""):
            cards = result["items"] or None
            yield ("", key, *ui_outputs(session, history, cards, result["reply"], replace_last=True))

    def card_feedback(slot: int, kind: str, stars, history: list, cards: list[dict], key: str | None):
        key, session = registry.get(key)
        if not cards or slot > len(cards):
            return (key, *ui_outputs(session, history, None, t("ask_first", session.lang)))
        if kind == "rating" and stars in (None, "", RATE_PROMPT):
            return (key, *ui_outputs(session, history, None))
        value = float(str(stars).rstrip("★")) if kind == "rating" else None
        result = session.feedback(slot, kind, value)
        cards = [dict(c) for c in cards]
        if result.ok:
            cards[slot - 1]["status"] = _status(kind, session.lang, f"{value:g}" if value else "")
        return (key, *ui_outputs(session, history, cards, result["reply"]))

    def critique(name: str, slot: int | None, history: list, n_items, diversity, novelty, use_llm,
                 key: str | None):
        key, session = registry.get(key)
        session.settings = Settings(n_items, diversity, novelty, bool(use_llm)).clamp()
        result = session.critique(name, slot)
        said = (t(f"crit_{name}", session.lang) if name in CRITIQUE_LABELS else name) + (f" #{slot}" if slot else "")
        history = list(history or []) + [{"role": "user", "content": said}]
        return (key, *ui_outputs(session, history, result["items"] or None, result["reply"]))

    def remove_entry(label: str | None, history: list, key: str | None):
        key, session = registry.get(key)
        _, entries = _profile_view(session)
        if not label or label not in entries:
            return (key, *ui_outputs(session, history, None, t("choose_entry", session.lang)))
        result = session.remove(entries[label])
        return (key, *ui_outputs(session, history, None, result["reply"]))

    def forget(history: list, key: str | None):
        key, session = registry.get(key)
        result = session.forget()
        return (key, *ui_outputs(session, [], [], result["reply"]))

    def export(key: str | None):
        key, session = registry.get(key)
        path = Path(tempfile.mkdtemp(prefix="chatrec-export-")) / "chatrec-profile.json"
        path.write_text(json.dumps(session.export(), indent=2, ensure_ascii=False))
        return key, gr.update(value=str(path), visible=True)

    def onboard(genres: list[str], favourites: str, history: list, key: str | None):
        key, session = registry.get(key)
        result = session.onboard(genres or [], favourites or "")
        said = ", ".join(genres or []) + (f" — {favourites}" if favourites else "")
        history = list(history or []) + [{"role": "user", "content": html.escape(said or t("just_show", session.lang))}]
        return (key, *ui_outputs(session, history, result["items"] or None, result["reply"]))

    def message_vote(data: gr.LikeData, history: list, key: str | None):
        key, session = registry.get(key)
        note = t("vote_up" if data.liked else "vote_down", session.lang)
        return key, list(history or []) + [{"role": "assistant", "content": note}]

    # ---------------------------------------------------------------- layout
    _ = ui_i18n(rec)  # the keys; launch()/mount() pass the same translations to Gradio
    with gr.Blocks(title="chatrec") as demo:
        key = gr.State(None)
        cards = gr.State([])
        uid = gr.BrowserState("", storage_key="chatrec_user", secret=secret)
        gr.Markdown(_("intro"))
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(label=_("chat"), height=460, elem_id="chat")
                with gr.Row():
                    box = gr.Textbox(placeholder=_("placeholder"), show_label=False,
                                     scale=5, max_length=rec.config.max_message_chars, autofocus=True)
                    send = gr.Button(_("send"), variant="primary", scale=1, min_width=80)
                with gr.Row():
                    crit_buttons = {name: gr.Button(_(name), size="sm", min_width=60)
                                    for name in ("newer", "older", "lighter", "darker")}
                gr.Examples(EXAMPLES, inputs=box, label=_("try"))
            with gr.Column(scale=3, min_width=320):
                gr.Markdown(_("recommendations"), elem_id="cards-title")
                empty_note = gr.Markdown(_("cards_empty"), elem_id="cards-empty")
                slots = []
                for n in range(1, MAX_CARDS + 1):
                    with gr.Group(visible=False, elem_id=f"card-{n}", elem_classes=["chatrec-card"]) as group:
                        body = gr.Markdown(elem_classes=["chatrec-card-body"])
                        with gr.Row(elem_classes=["chatrec-card-actions"]):
                            buttons = {
                                "like": gr.Button(_("like"), size="sm", min_width=60, elem_id=f"like-{n}"),
                                "dislike": gr.Button(_("dislike"), size="sm", min_width=60, elem_id=f"dislike-{n}"),
                                "seen": gr.Button(_("seen"), size="sm", min_width=60, elem_id=f"seen-{n}"),
                                "more_like": gr.Button(_("more_like"), size="sm", min_width=90,
                                                       elem_id=f"more-{n}"),
                                "less_like": gr.Button(_("less_like"), size="sm", min_width=90,
                                                       elem_id=f"less-{n}"),
                            }
                            # the prompt's label is translated; its value stays RATE_PROMPT for the handlers
                            rating = gr.Dropdown([(_("rate"), RATE_PROMPT), "1★", "2★", "3★", "4★", "5★"],
                                                 value=RATE_PROMPT,
                                                 show_label=False, container=False, min_width=80,
                                                 elem_id=f"rate-{n}", interactive=True)
                    slots.append((n, group, body, buttons, rating))
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                with gr.Accordion(_("your_profile"), open=True):
                    profile_md = gr.Markdown(_("profile_empty"))
                    entries = gr.Dropdown(choices=[], label=_("remove_entry"), interactive=True)
                    with gr.Row():
                        remove_btn = gr.Button(_("remove"), size="sm")
                        export_btn = gr.Button(_("export"), size="sm")
                        forget_btn = gr.Button(_("forget"), size="sm", variant="stop")
                    export_file = gr.File(label=_("your_data"), visible=False)
            with gr.Column(scale=1, min_width=280):
                with gr.Accordion(_("new_here"), open=False):
                    genres = gr.CheckboxGroup(rec.catalog.genres, label=_("genres_you_enjoy"))
                    favourites = gr.Textbox(label=_("films_you_love"), placeholder=_("films_placeholder"))
                    start_btn = gr.Button(_("start"))
                with gr.Accordion(_("settings"), open=False):
                    n_items = gr.Slider(1, MAX_CARDS, value=min(rec.config.n_items, MAX_CARDS), step=1,
                                        label=_("n_picks"))
                    diversity = gr.Slider(0, 1, value=round(2 * (1 - rec.config.mmr_lambda), 2), step=0.05,
                                          label=_("diversity"), info=_("diversity_info"))
                    novelty = gr.Slider(0, 1, value=0, step=0.05, label=_("novelty"), info=_("novelty_info"))
                    use_llm = gr.Checkbox(value=rec.llm is not None, interactive=rec.llm is not None,
                                          label=_("use_llm" if rec.llm is not None else "use_llm_none"))
        # API-only endpoints, each with the same per-client session as the UI uses
        with gr.Row(visible=False):
            api_text = gr.Textbox()
            api_num, api_num2 = gr.Number(precision=0), gr.Number()
            api_out = gr.JSON()
            api_buttons = [gr.Button() for _ in range(6)]

        card_outputs = [c for _, group, body, _, rating in slots for c in (group, body, rating)]
        ui = [chatbot, profile_md, entries, cards, *card_outputs]
        knobs = [n_items, diversity, novelty, use_llm]
        demo.load(on_load, [uid, key], [key, uid, chatbot, profile_md, entries], api_name=False)
        uid.change(on_uid_change, [uid, key], [key, uid, chatbot, profile_md, entries], api_name=False)
        cards.change(lambda c: gr.update(visible=not c), [cards], [empty_note], api_name=False, queue=False)
        for trigger in (box.submit, send.click):
            trigger(respond, [box, chatbot, *knobs, key], [box, key, *ui], api_name=False)
        for name, btn in crit_buttons.items():
            btn.click(critique, [gr.State(name), gr.State(None), chatbot, *knobs, key], [key, *ui], api_name=False)
        for n, _, _, buttons, rating in slots:
            for kind in ("like", "dislike", "seen"):
                buttons[kind].click(card_feedback, [gr.State(n), gr.State(kind), gr.State(None), chatbot, cards, key],
                                    [key, *ui], api_name=False)
            for name in ("more_like", "less_like"):
                buttons[name].click(critique, [gr.State(name), gr.State(n), chatbot, *knobs, key], [key, *ui],
                                    api_name=False)
            rating.input(card_feedback, [gr.State(n), gr.State("rating"), rating, chatbot, cards, key], [key, *ui],
                         api_name=False)
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
    _start_retrainer(rec)
    demo = _queued(build_app(rec))
    demo.launch(**{**style(rec), **launch_kwargs})


def _queued(demo: gr.Blocks) -> gr.Blocks:
    """CHATREC_CONCURRENCY requests at a time (the rule path is fast and thread-safe; the embedded LLM serialises
    itself with a lock), each torch op on its share of the cores: letting every op fan out over all of them
    oversubscribes a small machine (2 cores: turn latency under load fell when each op kept to one thread)."""
    import torch

    concurrency = int(os.environ.get("CHATREC_CONCURRENCY", "4"))
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, concurrency)))
    return demo.queue(default_concurrency_limit=concurrency)


def _start_retrainer(rec: Recommender) -> None:
    """Fine-tune the reranker in the background after CHATREC_RETRAIN_AFTER_EVENTS new feedback events or every
    CHATREC_RETRAIN_EVERY_S seconds (both 0 by default: off); a new model is swapped in only if it does not
    regress (chatrec.training.retrainer)."""
    from chatrec.training.retrainer import BackgroundRetrainer

    rec.retrainer = BackgroundRetrainer(rec).start()


def mount(app, path: str = "/chatrec", config: Config | None = None):
    """Mount the chat (UI and API endpoints) inside an existing FastAPI app at `path`."""
    rec = Recommender.from_config(config or Config.from_env(), progress=True)
    _start_retrainer(rec)
    return gr.mount_gradio_app(app, _queued(build_app(rec)), path=path, **style(rec))
