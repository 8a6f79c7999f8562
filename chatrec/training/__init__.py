"""Training the fusion reranker, offline and continually.

`data` reads ratings into `Interactions` arrays and makes the per-user, by-time cuts; `fit` builds and
trains the model (accelerate, early stopping) for `chatrec train`; `continual` turns feedback events into
training rows and fine-tunes the checkpoint (`chatrec train --incremental`) only when validation does not
regress; `retrainer` runs that in a background thread of the app. Serving never imports this package.
"""
