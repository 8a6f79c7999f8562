"""A plain JSON API beside the Gradio app: one request per turn, the conversation's signed id in the body, so any
replica behind a round-robin balancer can answer any turn (Gradio's own queue protocol needs its join and its
event stream on one process; this API does not).

    POST /api/v1/chat      {"conversation": ID|null, "message": str}
    POST /api/v1/feedback  {"conversation": ID, "position": int, "kind": "like"|"dislike"|"seen"}
    POST /api/v1/rate      {"conversation": ID, "position": int, "stars": 1-5}
    POST /api/v1/critique  {"conversation": ID, "name": str, "position": int|null}
    POST /api/v1/profile   {"conversation": ID}
    POST /api/v1/forget    {"conversation": ID}
    POST /api/v1/link      {"conversation": ID, "token": str}   (from `chatrec profile link --user ID`)
    GET  /api/v1/health

Each answer is the CLI's JSON object (`reply`, `intent`, `items`; `/profile` the profile) plus `conversation`: the
signed id to send with the next turn. A missing id starts a new anonymous user; one that does not verify too, with
a notice in the reply. Bad input is a 400 with `{"error": ..., "field": ...}`. The header `X-Chatrec-Server` names
the server socket (host:port) that answered, so a transcript shows which replica served each turn.

Only Starlette (which Gradio runs on); the work is `chatrec.app.handlers`'s.
"""
from __future__ import annotations

import asyncio
import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chatrec.app import validate
from chatrec.app.handlers import Handlers
from chatrec.errors import InputError

MAX_BODY = 64 * 1024
# endpoint -> (handler method, the body fields it takes, in order)
ENDPOINTS = {
    "chat": ("api_chat", ("message",)),
    "feedback": ("api_feedback", ("position", "kind")),
    "rate": ("api_rate", ("position", "stars")),
    "critique": ("api_critique", ("name", "position")),
    "profile": ("api_profile", ()),
    "forget": ("api_forget", ()),
    "link": ("api_link", ("token",)),
}
# the checks at this boundary (the handlers check again, and answer inside the reply where there is no status code)
CHECKS = {
    "message": lambda v: validate.text(v, "message", 100_000),
    "position": validate.position,
    "kind": lambda v: validate.text(v, "kind"),
    "stars": validate.stars,
    "name": lambda v: validate.text(v, "name"),
    "token": lambda v: validate.text(v, "token", 512),
}


def _error(field: str, message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": f"{field}: {message}", "field": field}, status_code=status)


def _server(request: Request) -> str:
    host, port = request.scope.get("server") or ("?", 0)
    return f"{host}:{port}"


def routes(h: Handlers, prefix: str = "") -> list[Route]:
    """The API's routes, under `prefix` (the path the chat is mounted at, if any). At most `config.concurrency`
    turns run at a time, as in Gradio's queue; the others wait."""
    slots = asyncio.Semaphore(max(1, h.rec.config.concurrency))

    def endpoint(name: str):
        method, fields = ENDPOINTS[name]

        async def handle(request: Request):
            raw = await request.body()
            if len(raw) > MAX_BODY:
                return _error("body", f"at most {MAX_BODY} bytes, got {len(raw)}", 413)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return _error("body", "not valid JSON")
            if not isinstance(body, dict):
                return _error("body", "expected a JSON object")
            missing = [f for f in fields if f not in body and not (name == "critique" and f == "position")]
            if missing:
                return _error(missing[0], "required")
            try:
                for f in fields:
                    if not (name == "critique" and f == "position" and body.get(f) is None):
                        CHECKS[f](body[f])
            except InputError as exc:
                return _error(exc.field, str(exc).split(": ", 1)[1])
            conversation = body.get("conversation")
            if conversation is not None and not isinstance(conversation, str):
                return _error("conversation", "expected the id a previous answer gave, or null")
            async with slots:
                out, token = await run_in_threadpool(getattr(h, method), *[body.get(f) for f in fields], conversation)
            return JSONResponse({**dict(out), "conversation": token}, headers={"X-Chatrec-Server": _server(request)})
        return handle

    async def health(request: Request):
        return JSONResponse({"ok": True}, headers={"X-Chatrec-Server": _server(request)})

    base = prefix.rstrip("/") + "/api/v1"
    return [Route(f"{base}/{name}", endpoint(name), methods=["POST"]) for name in ENDPOINTS] + [
        Route(f"{base}/health", health, methods=["GET"])]
