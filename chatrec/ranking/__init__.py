"""Ranking: scoring retrieved candidates and picking the final list.

`scorers` holds the `Scorer` interface, the baseline scorer and the serving wrapper of the trained fusion
model; `fusion` the torch model itself (user-interest tower, content tower, fusion MLP); `checkpoint`
where checkpoints live and how they are saved and loaded (serving loads here; training only writes);
`diversity` the MMR pick of the final list. Serving code imports only this package, never training.
"""
