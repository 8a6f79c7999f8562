"""Retrieval: turning items and requests into vectors and finding candidates.

`embed` holds the sentence encoders (MiniLM from a PyPI package, multilingual USE, a hashing embedder for
tests); `index` the Chroma collection plus its manifest and an exact in-memory search for small catalogs;
`lexical` the films viewers tagged with a topic's words; `retrieve` builds the query vector from a request (wish,
named films, profile), gathers every source's candidates and applies every hard filter (genres, years,
exclusions, "only these films"), loosening them in a stated order when nothing passes. It knows nothing about
users beyond the vectors it is given.
"""
