"""Measuring chatrec: offline ranking protocols, the conversational benchmark, reports.

`metrics` is the one home of every metric; `offline` the MovieLens protocols (temporal, random, cold
slices) with same-run baselines behind `chatrec evaluate`; `redial` the ReDial conversational benchmark
behind `chatrec evaluate-crs`, ranking through the chat's own path; `simulator` the scripted user of the
simulated-conversation benchmark; `like_x` the "something like X" protocol (the chat's picks
against item-to-item baselines on held-out MovieLens users, `bench/like_x`). Nothing in the serving path imports this package.
"""
