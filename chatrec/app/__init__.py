"""The ways in: the `chatrec` command line, the Gradio web app, and its session registry.

`cli` is a thin click layer over the library; `web` lays out the Gradio page and wires its events and named
API endpoints to `handlers`, small functions over `ChatSession` verbs; `sessions` keeps one live session
per browser. The serving path imports training only when background retraining is configured.
"""
