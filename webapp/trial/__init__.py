"""Interleaved trials: a candidate model serves beside the active one, and visitors' clicks
say which is better, before the candidate may serve alone.

- ``candidate``: the model on trial (``TRIAL_MODEL_PATH``), loaded per process.
- ``interleave``: team-draft interleaving; ``served_lists``: the similar list a visitor
  gets, interleaved during a trial, with its ticket.
- ``comparisons``: wins, losses and ties per (visitor, query) from the events file;
  ``sign_test``: the two-sided sign test on them.

A trial never changes which model is active: the admin ends it or activates
the candidate (``webapp.admin.trial_views``).
"""

from .candidate import current_candidate, init_app

__all__ = ["current_candidate", "init_app"]
