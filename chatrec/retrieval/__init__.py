"""Retrieval: turning items and requests into vectors and finding candidates.

`embed` holds the sentence encoders (MiniLM from a PyPI package, multilingual USE, a hashing embedder for
tests); `index` the Chroma collection plus its manifest and an exact in-memory search for small catalogs;
`retrieve` builds the query vector from a request (wish, named films, profile) and applies every hard
filter (genres, years, exclusions, "only these films"), loosening them in a stated order when nothing
passes. It knows nothing about users beyond the vectors it is given.
"""
