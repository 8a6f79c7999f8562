"""The Gradio app: the page's layout and the wiring of its events to `chatrec.app.handlers`.

Who is asking is decided by ids the server signs (`chatrec.app.identity`; the key never leaves the server):
each tab holds its conversation's signed id in a hidden field, sent with every event, and the browser keeps the
signed user id in `gr.BrowserState` (localStorage; that component's own "secret" is published in `/config` and
protects nothing, the signature does). Every handler resolves the user from these, so a tab open across a server
restart keeps writing to its own profile; a missing, unsigned or tampered id gets a new anonymous user and a
notice. Each `gradio_client.Client` holds its conversation's signed id in `gr.State` (server-side, per client).
The conversation's dialogue state is saved to the profile database after each event, so a restarted server (or
another replica) carries on where it stopped. Exported files live in a per-user folder inside Gradio's cache,
served from there and deleted by "Forget me".

Named API endpoints for scripted clients (one `gradio_client.Client` = one conversation):

    /chat      message: str                                   -> the CLI's JSON object
    /feedback  position: int, kind: "like"|"dislike"|"seen"   -> the same shape
    /rate      position: int, stars: 1-5                       -> the same shape
    /critique  name: newer|older|lighter|darker|more_like|less_like, position: int (for more/less_like)
    /profile   -> what chatrec believes about this user (JSON)
    /forget    -> deletes this user's data (events, vector, conversations, exported files)
    /link      token: str (from `chatrec profile link --user ID`) -> this client continues as that CLI user

The same verbs as plain JSON over HTTP, one request per turn with the conversation's signed id in the body (what
replicas behind a round-robin balancer need): `chatrec.app.http_api`, under /api/v1/.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import gradio as gr

from chatrec.app import http_api
from chatrec.app.handlers import MAX_CARDS, RATE_PROMPT, Handlers, Screen, Start
from chatrec.app.sessions import browser_secret as stored_browser_secret
from chatrec.chat.recommender import Recommender
from chatrec.config import Config
from chatrec.errors import ChatrecError
from chatrec.lang import UI

EXAMPLES = ["something like Alien but less gory", "comedies from the 90s", "a heist film, no horror",
            "animated films for kids", "I loved Spirited Away", "宫崎骏的动画", "九十年代的喜剧，不要爱情片"]
CSS = """
.chatrec-card { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 4px 6px;
                margin-bottom: 8px; background: var(--background-fill-primary); }
.chatrec-card-body p { margin: 2px 0; }
.chatrec-card-actions { gap: 4px; flex-wrap: wrap; }
.chatrec-card-actions button { flex: 0 0 auto; }
@media (max-width: 640px) { .chatrec-card-actions button { min-width: 44px !important; } }
"""


def ui_i18n(rec: Recommender) -> gr.I18n:
    """The interface strings in English and Simplified Chinese; the browser's locale picks one (zh, zh-CN, zh-TW
    ... fall back to "zh"). Gradio translates only what the page itself shows: replies follow the chat's language."""
    n = f"{len(rec.catalog):,}"
    tables = {lang: {k: v.replace("{n}", n) for k, v in strings.items()} for lang, strings in UI.items()}
    return gr.I18n(en=tables["en"], zh=tables["zh"], **{"zh-CN": tables["zh"]})


def style(rec: Recommender) -> dict:
    """Theme, CSS and the interface translations: in Gradio 6 these are `launch()` / `mount_gradio_app()`
    arguments."""
    return {"theme": gr.themes.Soft(primary_hue="indigo", secondary_hue="slate"), "css": CSS, "i18n": ui_i18n(rec)}


# ---------------------------------------------------------------- handlers' plain values -> Gradio outputs
def screen_outputs(s: Screen) -> tuple:
    """(key, uid, chatbot, profile, entries, cards, then one (group, markdown, rating) triple per card slot)."""
    entries = gr.update(choices=s.entries, value=None)
    uid = gr.update() if s.uid is None else s.uid
    if s.cards is None:  # the list did not change
        return (s.key, uid, s.history, s.profile, entries, gr.update(), *[gr.update() for _ in range(3 * MAX_CARDS)])
    slots = []
    for n in range(MAX_CARDS):
        shown = n < len(s.card_texts)
        slots += [gr.update(visible=shown), gr.update(value=s.card_texts[n] if shown else ""),
                  gr.update(value=RATE_PROMPT)]
    return (s.key, uid, s.history, s.profile, entries, s.cards, *slots)


def start_outputs(s: Start) -> tuple:
    """(key, stored uid, chatbot, profile, entries); None in `s` leaves that output as it is."""
    def keep(value):
        return gr.update() if value is None else value
    entries = gr.update() if s.entries is None else gr.update(choices=s.entries, value=None)
    return s.key, keep(s.uid), keep(s.history), keep(s.profile), entries


def events(h: Handlers) -> dict:
    """The UI events as Gradio calls them: each hands plain values to its handler and converts what comes back."""
    def load(saved_uid, key, request: gr.Request):
        return start_outputs(h.load(saved_uid, key, request.headers.get("accept-language") if request else None))

    def uid_change(saved_uid, key):
        return start_outputs(h.uid_changed(saved_uid, key))

    def respond(*args):
        for screen in h.respond(*args):
            yield ("", *screen_outputs(screen))

    def export(key, uid):
        key, uid, path = h.export(key, uid)
        return key, uid, gr.update(value=path, visible=True)

    def vote(data: gr.LikeData, history, key, uid):
        return h.vote(data.liked, history, key, uid)

    def screen(handler):
        return lambda *args: screen_outputs(handler(*args))

    return {"load": load, "uid_change": uid_change, "respond": respond, "export": export, "vote": vote,
            **{name: screen(getattr(h, name)) for name in ("card_feedback", "critique", "remove_entry", "forget",
                                                            "onboard", "link")}}


# ---------------------------------------------------------------- the page
def raw_number() -> gr.Number:
    """A number input that hands the handler what the client sent (gr.Number would round 1.5 to 2, take True as 1
    and fail on "abc" with an empty error): `chatrec.app.validate` checks it and answers bad input clearly. (An
    instance override, not a subclass: Gradio writes a .pyi stub beside any module that subclasses a component.)"""
    number = gr.Number()
    number.preprocess = lambda payload: payload
    return number


def build_app(rec: Recommender, browser_secret: str | None = None) -> gr.Blocks:
    from gradio.utils import get_upload_folder

    # exports inside Gradio's cache are served from where they are (not copied), so "Forget me" can delete them
    h = Handlers(rec, export_dir=Path(get_upload_folder()) / "chatrec-exports")
    on = events(h)
    # not a secret: Gradio publishes it in /config. The signature on the stored id is what protects it
    secret = browser_secret or stored_browser_secret(rec.config)
    _ = ui_i18n(rec)  # the keys; launch()/mount() pass the same translations to Gradio
    with gr.Blocks(title="chatrec") as demo:
        key = gr.State(None)  # API clients: the conversation's signed id, held server-side per client
        conv = gr.Textbox("", visible="hidden", elem_id="chatrec-conversation")  # the tab's, sent with each event
        cards = gr.State([])
        uid = gr.BrowserState("", storage_key="chatrec_user", secret=secret)
        gr.Markdown(_("intro"))
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(label=_("chat"), height=460, elem_id="chat")
                with gr.Row():
                    box = gr.Textbox(placeholder=_("placeholder"), show_label=False,
                                     scale=5, max_length=rec.config.max_message_chars, autofocus=True)
                    send = gr.Button(_("send"), variant="primary", scale=1, min_width=80, elem_id="send")
                with gr.Row():
                    crit_buttons = {name: gr.Button(_(name), size="sm", min_width=60)
                                    for name in ("newer", "older", "lighter", "darker")}
                gr.Examples(EXAMPLES, inputs=box, label=_("try"))
            with gr.Column(scale=3, min_width=320):
                gr.Markdown(_("recommendations"), elem_id="cards-title")
                empty_note = gr.Markdown(_("cards_empty"), elem_id="cards-empty")
                slots = [card_slot(n, _) for n in range(1, MAX_CARDS + 1)]
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                with gr.Accordion(_("your_profile"), open=True):
                    profile_md = gr.Markdown(_("profile_empty"))
                    entries = gr.Dropdown(choices=[], label=_("remove_entry"), interactive=True)
                    with gr.Row():
                        remove_btn = gr.Button(_("remove"), size="sm")
                        export_btn = gr.Button(_("export"), size="sm", elem_id="export")
                        forget_btn = gr.Button(_("forget"), size="sm", variant="stop", elem_id="forget")
                    export_file = gr.File(label=_("your_data"), visible=False)
                with gr.Accordion("Link a command-line profile", open=False):
                    link_box = gr.Textbox(label="Link token (from: chatrec profile link --user ID)", max_length=512)
                    link_btn = gr.Button("Link", size="sm", elem_id="link")
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
            api_num, api_num2 = raw_number(), raw_number()  # checked by chatrec.app.validate, never rounded
            api_out = gr.JSON()
            api_buttons = [gr.Button() for _ in range(7)]

        card_outputs = [c for _, group, body, _, rating in slots for c in (group, body, rating)]
        ui = [chatbot, profile_md, entries, cards, *card_outputs]
        who = [conv, uid]  # every UI event names its user by these signed ids, and may renew them
        knobs = [n_items, diversity, novelty, use_llm]
        start = [conv, uid, chatbot, profile_md, entries]
        demo.load(on["load"], [uid, conv], start, api_visibility="private")
        uid.change(on["uid_change"], [uid, conv], start, api_visibility="private")
        cards.change(lambda c: gr.update(visible=not c), [cards], [empty_note], api_visibility="private", queue=False)
        for trigger in (box.submit, send.click):
            trigger(on["respond"], [box, chatbot, *knobs, *who], [box, *who, *ui], api_visibility="private")
        for name, btn in crit_buttons.items():
            btn.click(on["critique"], [gr.State(name), gr.State(None), chatbot, *knobs, *who], [*who, *ui],
                      api_visibility="private")
        for n, _, _, buttons, rating in slots:
            for kind in ("like", "dislike", "seen"):
                buttons[kind].click(on["card_feedback"], [gr.State(n), gr.State(kind), gr.State(None), chatbot,
                                                          cards, *who], [*who, *ui], api_visibility="private")
            for name in ("more_like", "less_like"):
                buttons[name].click(on["critique"], [gr.State(name), gr.State(n), chatbot, *knobs, *who],
                                    [*who, *ui], api_visibility="private")
            rating.input(on["card_feedback"], [gr.State(n), gr.State("rating"), rating, chatbot, cards, *who],
                         [*who, *ui], api_visibility="private")
        remove_btn.click(on["remove_entry"], [entries, chatbot, *who], [*who, *ui], api_visibility="private")
        forget_btn.click(on["forget"], [chatbot, *who], [*who, *ui], api_visibility="private")
        export_btn.click(on["export"], who, [*who, export_file], api_visibility="private")
        start_btn.click(on["onboard"], [genres, favourites, chatbot, *who], [*who, *ui], api_visibility="private")
        link_btn.click(on["link"], [link_box, chatbot, *who], [*who, *ui], api_visibility="private")
        chatbot.like(on["vote"], [chatbot, *who], [conv, chatbot], api_visibility="private")

        chat_b, fb_b, rate_b, crit_b, prof_b, forget_b, link_b = api_buttons
        chat_b.click(h.api_chat, [api_text, key], [api_out, key], api_name="chat")
        fb_b.click(h.api_feedback, [api_num, api_text, key], [api_out, key], api_name="feedback")
        rate_b.click(h.api_rate, [api_num, api_num2, key], [api_out, key], api_name="rate")
        crit_b.click(h.api_critique, [api_text, api_num, key], [api_out, key], api_name="critique")
        prof_b.click(h.api_profile, [key], [api_out, key], api_name="profile")
        forget_b.click(h.api_forget, [key], [api_out, key], api_name="forget")
        link_b.click(h.api_link, [api_text, key], [api_out, key], api_name="link")
    demo.chatrec_handlers = h  # the JSON API (chatrec.app.http_api) serves the same conversations
    return demo


def card_slot(n: int, _) -> tuple:
    """Card slot `n` (hidden until a list fills it): (n, group, markdown body, action buttons, rating)."""
    with gr.Group(visible=False, elem_id=f"card-{n}", elem_classes=["chatrec-card"]) as group:
        body = gr.Markdown(elem_classes=["chatrec-card-body"])
        with gr.Row(elem_classes=["chatrec-card-actions"]):
            buttons = {
                "like": gr.Button(_("like"), size="sm", min_width=60, elem_id=f"like-{n}"),
                "dislike": gr.Button(_("dislike"), size="sm", min_width=60, elem_id=f"dislike-{n}"),
                "seen": gr.Button(_("seen"), size="sm", min_width=60, elem_id=f"seen-{n}"),
                "more_like": gr.Button(_("more_like"), size="sm", min_width=90, elem_id=f"more-{n}"),
                "less_like": gr.Button(_("less_like"), size="sm", min_width=90, elem_id=f"less-{n}"),
            }
            # the prompt's label is translated; its value stays RATE_PROMPT for the handlers
            rating = gr.Dropdown([(_("rate"), RATE_PROMPT), "1★", "2★", "3★", "4★", "5★"], value=RATE_PROMPT,
                                 show_label=False, container=False, min_width=80, elem_id=f"rate-{n}",
                                 interactive=True)
    return n, group, body, buttons, rating


# ---------------------------------------------------------------- serving
def launch(config: Config | None = None, **launch_kwargs) -> None:
    """Load everything (building the index on first start, with a progress bar), then serve. The interface
    and port are Gradio's: GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, or `server_name=` / `server_port=` here."""
    config = config or Config.from_env()
    print("chatrec: loading the catalog and the index (the first start builds the index) ...", flush=True)
    try:
        rec = Recommender.from_config(config, progress=True)
        demo = queued(build_app(rec), rec.config)  # opens the dialogue store too
    except ChatrecError as exc:
        print(f"chatrec: cannot start: {exc}", file=sys.stderr)
        sys.exit(2)
    start_retrainer(rec)
    # the JSON API (chatrec.app.http_api) on the same server, ahead of Gradio's routes
    app_kwargs = {"routes": http_api.routes(demo.chatrec_handlers)}
    demo.launch(**{**style(rec), "app_kwargs": app_kwargs, **launch_kwargs})


def mount(app, path: str = "/chatrec", config: Config | None = None):
    """Mount the chat (UI and API endpoints) inside an existing FastAPI app at `path`."""
    rec = Recommender.from_config(config or Config.from_env(), progress=True)
    start_retrainer(rec)
    demo = queued(build_app(rec), rec.config)
    app.router.routes.extend(http_api.routes(demo.chatrec_handlers, prefix=path))  # {path}/api/v1/...
    return gr.mount_gradio_app(app, demo, path=path, **style(rec))


def queued(demo: gr.Blocks, config: Config) -> gr.Blocks:
    """`config.concurrency` requests at a time (the rule path is fast and thread-safe; the embedded LLM
    serialises itself with a lock), each torch op on its share of the cores: letting every op fan out over all
    of them oversubscribes a small machine (2 cores: turn latency under load fell when each op kept to one
    thread)."""
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, config.concurrency)))
    return demo.queue(default_concurrency_limit=config.concurrency)


def start_retrainer(rec: Recommender) -> None:
    """When retraining is configured (`retrain_after_events` or `retrain_every_s` above 0), fine-tune the
    reranker in a background thread; a new model is swapped in only if it does not regress
    (chatrec.training.retrainer, the serving path's one import of training, made only then)."""
    if rec.config.retrain_after_events <= 0 and rec.config.retrain_every_s <= 0:
        return
    from chatrec.training.retrainer import BackgroundRetrainer

    rec.retrainer = BackgroundRetrainer(rec).start()
