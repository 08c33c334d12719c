"""The candidate on trial: one file (``SKETCHREC_TRIAL_MODEL_PATH``, default ``trial.npz``
beside the active model) that every worker interleaves with the active model while it exists.

Putting a job's candidate on trial copies it there atomically (a trial
already running is ended first); ending a trial renames the file to
``<name>.ended.npz``, so an operator's own candidate is never deleted;
activating the candidate is an ordinary activation (a ticket, the active
model kept as the previous one), then the end of the trial. Nothing here
changes the active model except that activation.
"""

import os

from training.core import load_model

from . import activation


def ended_path(trial_path):
    """Where the candidate of the last ended trial is kept."""
    root, _ = os.path.splitext(trial_path)
    return root + ".ended.npz"


def put_on_trial(trial_path, candidate_path):
    """Start a trial of ``candidate_path`` (checked first: a bad file raises
    :class:`training.core.errors.BadInput` and changes nothing)."""
    load_model(candidate_path)
    if os.path.exists(trial_path):
        end_trial(trial_path)
    activation.copy_into(candidate_path, trial_path)


def end_trial(trial_path):
    """Stop the trial; :class:`FileNotFoundError` when none runs."""
    try:
        os.replace(trial_path, ended_path(trial_path))
    except FileNotFoundError:
        raise FileNotFoundError("no trial is running") from None


def activate_candidate(active_path, trial_path):
    """Make the candidate on trial the active model, then end the trial."""
    activation.activate(active_path, trial_path)
    end_trial(trial_path)
