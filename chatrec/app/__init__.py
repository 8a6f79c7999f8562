"""The ways in: the `chatrec` command line, the Gradio web app, its JSON API, and who is asking.

`cli` is a thin click layer over the library; `web` lays out the Gradio page and wires its events and named
API endpoints to `handlers`, small functions over `ChatSession` verbs; `http_api` offers the same verbs as plain
JSON, one request per turn, for replicas behind a balancer. `identity` signs and verifies user and conversation
ids (a server-side HMAC key), `sessions` finds the conversation a signed id names (cached, or from the dialogue
store, so a restart or another replica carries on), and `validate` checks input at the boundary. The serving
path imports training only when background retraining is configured.
"""
