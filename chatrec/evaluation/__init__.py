"""Measuring chatrec: offline ranking protocols, the conversational benchmark, reports.

`metrics` is the one home of every metric; `offline` the MovieLens protocols (temporal, random, cold
slices) with same-run baselines behind `chatrec evaluate`; `redial` the ReDial conversational benchmark
behind `chatrec evaluate-crs`, ranking through the chat's own path; `simulator` the scripted user of the
simulated-conversation benchmark. Nothing in the serving path imports this package.
"""
