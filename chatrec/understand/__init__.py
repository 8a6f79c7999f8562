"""Understanding a message: what the person wants, as an `Intent`.

The rule parser (`rules`) is deterministic and grounded in the catalog: it links titles the person typed
(English, Chinese, aliases), genres, decades, critiques and sentiment. The LLM parser (`llm_parser`) asks a
generative model for the same `Intent` and checks every slot against the catalog before trusting it; it
falls back to the rules when the model is off, slow or wrong. Vocabulary (genre synonyms in English and
Chinese, critique words, stop-words, sentiment words, Chinese film titles) lives in data files under `vocab/`,
read once by `vocab`, so a new word is a data change. `intent` holds the `Intent` both parsers return (with
`ParseContext` and `clean_message`); `aliases` reads the shipped alias table (Chinese titles, directors,
series). Nothing here ranks or stores anything.
"""
