"""Serving: the active model artifact as a catalog of models and their neighbours.

- ``model_store``: the artifact loaded once per process, reloaded when its file changes.
- ``catalog``: what pages and the API ask of a model (cards, similar lists, name search);
  the similar-models query itself is the core's (:mod:`training.core.neighbours`).
"""

from .model_store import ModelUnavailable, current_catalog, init_app, model_problem

__all__ = ["ModelUnavailable", "current_catalog", "init_app", "model_problem"]
