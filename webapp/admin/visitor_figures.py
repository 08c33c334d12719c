"""What the admin page shows of visitors' events: the trial, click-through, hearts to add.

Each figure is read from the events file when the page is shown; an
unreadable file is reported on the page (``problem``) and hides the figures,
nothing more.
"""

import os

from flask import current_app

from training.core import BadInput
from training.core.event_likes import heart_likes

from ..errors import by_role
from ..events.click_through import click_through
from ..serving import ModelUnavailable, current_catalog
from ..trial import current_candidate
from ..trial.comparisons import decision, trial_report


def trial_now(timeout=10.0):
    """``(active, candidate)`` catalogs while a trial runs, else None; waits up to
    ``timeout`` seconds for the candidate's first load in this process."""
    try:
        active = current_catalog()
    except ModelUnavailable:
        return None
    candidate = current_candidate(timeout)
    return None if candidate is None else (active, candidate)


def current_trial_report():
    """The running trial's report (:func:`trial_report`), or None without a trial."""
    trial = trial_now()
    if trial is None:
        return None
    active, candidate = trial
    return trial_report(current_app.config["EVENTS_DB"], active.sha256, candidate.sha256)


def figures():
    """``{"trial", "decision", "trial_file", "click_through", "hearts", "visitors",
    "problem"}`` for the admin page."""
    events = current_app.config["EVENTS_DB"]
    trial_path = current_app.config["TRIAL_MODEL_PATH"]
    shown = {"trial": None, "decision": None, "trial_file": os.path.exists(trial_path)}
    shown |= {"click_through": [], "hearts": 0, "visitors": 0, "problem": None}
    try:
        shown["trial"] = current_trial_report()
        likes = heart_likes(events)
        shown["click_through"] = click_through(events)
    except BadInput as e:
        shown["problem"] = by_role(e, {events: "the events file"})
        return shown
    if shown["trial"] is not None:
        shown["decision"] = decision(shown["trial"])
    shown["hearts"], shown["visitors"] = len(likes), len({uid for _, _, uid in likes})
    return shown
