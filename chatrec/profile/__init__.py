"""Profiles: what chatrec remembers about each person.

`store` is the durable event log (like, dislike, seen, rating, critique, clear) and profile vector in
SQLite (WAL) or PostgreSQL, with export and forget, and each conversation's dialogue state (`dialogues` table);
`dialogues` picks where dialogue state lives (that table, Redis, or nowhere); `recover` rebuilds a damaged SQLite
file from what can still be read; `vector` the rule that moves a profile vector toward liked items and away from
disliked ones, and its replay from the event log. Every event is written before it is applied or acknowledged.
"""
