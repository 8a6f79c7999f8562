"""A local stand-in for an OpenAI-compatible chat server (what vLLM, llama.cpp server or Ollama expose).

The model name picks the behaviour: "good" answers sensibly, "slow" sleeps past any timeout, "junk" answers
garbage. Intent requests (the system prompt asks for JSON) get a JSON object; others get one sentence.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

app = FastAPI()
calls: list[dict] = []


def _answer(model: str, messages: list[dict]) -> str:
    system = messages[0]["content"] if messages else ""
    if model == "junk":
        return "<<<%%% not json, not a sentence %%%>>>"
    if "JSON" in system:
        last = messages[-1]["content"].lower()
        kind = "goodbye" if "bye" in last else "recommend"
        return json.dumps({"kind": kind, "liked": [], "disliked": [], "genres_in": [], "genres_out": []})
    return "A good fit for what you asked, from the description."


@app.post("/v1/chat/completions")
async def completions(request: Request):
    body = await request.json()
    calls.append(body)
    model = body.get("model", "good")
    if model == "slow":
        await asyncio.sleep(3)  # without blocking other requests
    text = _answer(model, body.get("messages", []))
    if body.get("stream"):
        def events():
            for word in text.split(" "):
                chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": model,
                         "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"
        return StreamingResponse(events(), media_type="text/event-stream")
    return JSONResponse({"id": "x", "object": "chat.completion", "created": 0, "model": model,
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                      "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})


def serve(port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    return server
