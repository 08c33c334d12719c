"""The admin's trial routes: the trial's JSON, putting a job's candidate on trial, ending
the trial, activating its candidate. Each is one button; none runs by itself."""

from flask import abort, current_app, flash, jsonify, redirect, url_for
from werkzeug.exceptions import ServiceUnavailable

from training.core import BadInput

from . import trial_file
from .views import _flash_failure, _job_or_404, bp
from .visitor_figures import current_trial_report

TRIAL_FILE = "the trial model file"


@bp.get("/trial.json")
def trial_json():
    """``{"active", "candidate", "comparisons", "wins": {"candidate", "active", "tie"},
    "p_value"}``; 404 without a trial, 503 when the events file cannot be read."""
    try:
        report = current_trial_report()
    except BadInput:
        raise ServiceUnavailable("The events file cannot be read; see the log.") from None
    if report is None:
        abort(404, "No trial is running.")
    return jsonify(report)


@bp.post("/jobs/<job_id>/trial")
def put_on_trial(job_id):
    """Interleave the job's candidate with the active model (ending a trial already running)."""
    job = _job_or_404(job_id)
    if job["status"] != "succeeded":
        abort(409, "Only a finished job's model can go on trial.")
    return _done(
        lambda: trial_file.put_on_trial(_trial_path(), job["candidate"]),
        f"The model of job {job_id} is on trial.",
        "Not put on trial",
        {job["candidate"]: "the job's model file", _trial_path(): TRIAL_FILE},
    )


@bp.post("/trial/end")
def end_trial():
    """Stop interleaving; the active model stays."""
    return _done(
        lambda: trial_file.end_trial(_trial_path()),
        "Trial ended; the active model serves alone.",
        "Not ended",
        {_trial_path(): TRIAL_FILE},
    )


@bp.post("/trial/activate")
def activate_candidate():
    """Make the candidate on trial the active model and end the trial."""
    return _done(
        lambda: trial_file.activate_candidate(current_app.config["MODEL_PATH"], _trial_path()),
        "Activated the candidate; the trial is over.",
        "Not activated",
        {_trial_path(): TRIAL_FILE, current_app.config["MODEL_PATH"]: "the active model file"},
    )


def _done(action, success, failure, roles):
    """Run ``action``; flash ``success``, or ``failure: <why>`` with files named by their
    ``roles`` ({path: role}, as the other admin actions do); back to the admin page."""
    try:
        action()
    except (BadInput, OSError) as e:
        _flash_failure(failure, e, roles)
    else:
        flash(success, "ok")
    return redirect(url_for(".index"), 303)


def _trial_path():
    return current_app.config["TRIAL_MODEL_PATH"]
