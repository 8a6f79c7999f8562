"""The conversation: one `ChatSession` per person talking, over one shared `Recommender`.

`recommender` is the shared, thread-safe part (catalog, index, scorer, store) and the one ranking path
that the chat and every benchmark call; `state` the dialogue state a request builds and critiques refine;
`session` the verbs a person uses (turn, feedback, critique, remove, forget, onboard) and the policy that
picks an action for an intent; `render` the reply text in English or Chinese; `explain` a reason per item
from that item's own facts. Every verb returns a `Reply` whose fields say what happened.
"""
