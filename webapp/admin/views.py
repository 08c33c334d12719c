"""The admin routes: likes files, uploads, retrain jobs, activation and rollback.

Registered only while an admin password hash is configured, so the routes
404 otherwise. Every route needs basic auth (checked by :mod:`.auth` before
anything else); every POST a CSRF token.
"""

import os

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from training.core import BadInput, Params, curves_svg, figure_numbers, read_results
from training.core.halving import rung_rows

from ..errors import by_role
from ..serving import ModelUnavailable, current_catalog
from . import activation, likes_files, visitor_figures
from .forms import RetrainForm
from .jobs import launcher, store
from .retrain import RetrainPlan

bp = Blueprint("admin", __name__, url_prefix="/admin")


def jobs_dir():
    return current_app.config["JOBS_DIR"]


def models_dir():
    """Candidates live beside the active model (``instance/models`` by default)."""
    return os.path.dirname(os.path.abspath(current_app.config["MODEL_PATH"]))


@bp.get("")
def index():
    """The active model, likes files, upload and retrain forms, the job history."""
    files = likes_files.list_files(current_app.config["DATA_DIR"])
    jobs = store.all_jobs(jobs_dir())
    return render_template(
        "admin/index.html",
        active=_active_model(),
        files=files,
        form=_retrain_form(files, formdata=None),
        jobs=jobs,
        figures={job["id"]: _pick_figures(job) for job in jobs},
        can_roll_back=activation.can_roll_back(current_app.config["MODEL_PATH"]),
        max_upload=current_app.config["MAX_CONTENT_LENGTH"],
        visitors=visitor_figures.figures(),
    )


def _retrain_form(files, **kwargs):
    form = RetrainForm(**kwargs)
    form.likes.choices = [f["name"] for f in files]
    return form


@bp.post("/upload")
def upload():
    """Save an uploaded likes file if the loader accepts it; show its one-line error if not."""
    stream = request.files.get("likes")
    if not stream or not stream.filename:
        flash("Choose a likes file to upload.", "error")
        return redirect(url_for(".index"), 303)
    try:
        name, prepared = likes_files.save_upload(current_app.config["DATA_DIR"], stream)
    except BadInput as e:
        flash(f"Upload rejected: {e}", "error")
        return redirect(url_for(".index"), 303)
    flash(
        f"Saved {name}: {prepared.after.users} users, {prepared.after.models} models, "
        f"{prepared.after.likes} likes after thresholding.",
        "ok",
    )
    return redirect(url_for(".index"), 303)


@bp.post("/jobs")
def start_job():
    """Queue a retrain from the form (behind at most ``MAX_QUEUED_JOBS``) and start its process."""
    form = _retrain_form(likes_files.list_files(current_app.config["DATA_DIR"]))
    if not form.validate():
        flash(f"Retrain not started: {form.first_error()}", "error")
        return redirect(url_for(".index"), 303)
    plan = _retrain_plan(form)
    folder, job_id = jobs_dir(), store.new_id()
    trains_on = os.path.basename(plan.likes_path)
    if form.hearts.data:
        events = current_app.config["EVENTS_DB"]
        try:
            plan.likes_path, added = likes_files.with_hearts(
                plan.likes_path, events, folder, job_id
            )
        except BadInput as e:
            _flash_failure("Retrain not started", e, {events: "the events file"})
            return redirect(url_for(".index"), 303)
        trains_on += f" and {added} visitors' hearts"
    candidate = os.path.join(models_dir(), f"{job_id}.npz")
    active = current_app.config["MODEL_PATH"]
    try:
        with store.submission_lock(folder, current_app.config["MAX_QUEUED_JOBS"]):
            store.create(
                folder,
                job_id,
                plan.steps(store.job_paths(folder, job_id).results, candidate),
                candidate,
                active=active,
                activate_when_done=form.activate.data,
                description=f"{plan.describe()} on {trains_on}",
                ticket=activation.take_ticket(active) if form.activate.data else None,
            )
    except store.QueueFull as e:
        if form.hearts.data:  # the copy with the hearts would serve no job
            os.remove(plan.likes_path)
        flash(f"Retrain not started: {e}.", "error")
        return redirect(url_for(".index"), 303)
    launcher.start(folder, job_id)
    return redirect(url_for(".job_page", job_id=job_id), 303)


def _retrain_plan(form):
    path = likes_files.resolve(current_app.config["DATA_DIR"], form.likes.data)
    if form.mode.data == "tune":
        return RetrainPlan(path, tune=True, strategy=form.strategy.data)
    params = Params(form.factors.data, form.regularization.data, form.alpha.data)
    return RetrainPlan(path, tune=False, params=params, iterations=form.iterations.data)


@bp.get("/jobs/<job_id>")
def job_page(job_id):
    """A job's progress, log tail, learning curves and metrics (refreshes itself while running)."""
    job = _job_or_404(job_id)
    results = _results(job)
    active = _active_model()
    has_curves = bool(results and results.get("curves"))
    return render_template(
        "admin/job.html",
        job=job,
        results=results,
        curves=curves_svg(results) if has_curves else None,
        numbers=figure_numbers(results) if has_curves else None,
        rungs=rung_rows(results) if has_curves and "search" in results else None,
        active=active,
        serving=_is_serving(job, active),
    )


@bp.get("/jobs/<job_id>.json")
def job_json(job_id):
    """The job's state and its best metrics so far, for the page's polling."""
    job = _job_or_404(job_id)
    results = _results(job) or {}
    return jsonify(
        job=job,
        best=results.get("best"),
        best_simk=results.get("best_simk"),
        baseline=results.get("baseline"),
    )


@bp.get("/jobs/<job_id>/curves.svg")
def job_curves(job_id):
    """The learning curves so far as an SVG image."""
    results = _results(_job_or_404(job_id))
    if not results or not results.get("curves"):
        abort(404, "No learning curves yet.")
    return current_app.response_class(
        curves_svg(results), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"}
    )


@bp.post("/jobs/<job_id>/activate")
def activate(job_id):
    """Make the job's candidate model the active one."""
    job = _job_or_404(job_id)
    if job["status"] != "succeeded":
        abort(409, "Only a finished job's model can be activated.")
    active = current_app.config["MODEL_PATH"]
    try:
        activation.activate(active, job["candidate"])
    except (BadInput, OSError) as e:
        roles = {job["candidate"]: "the job's model file", active: "the active model file"}
        _flash_failure("Not activated", e, roles)
    else:
        flash(f"Activated the model of job {job_id}.", "ok")
    return redirect(url_for(".index"), 303)


@bp.post("/jobs/<job_id>/cancel")
def cancel(job_id):
    """Stop a queued or running job and everything it started."""
    if launcher.cancel(jobs_dir(), _job_or_404(job_id)["id"]):
        flash(f"Cancelled job {job_id}.", "ok")
    else:
        flash(f"Job {job_id} was not running: nothing to cancel.", "error")
    return redirect(url_for(".job_page", job_id=job_id), 303)


@bp.post("/rollback")
def rollback():
    """Return to the model that was active before the last activation."""
    active = current_app.config["MODEL_PATH"]
    try:
        activation.roll_back(active)
    except OSError as e:
        roles = {activation.previous_path(active): "the previous model file"}
        _flash_failure("Not rolled back", e, {**roles, active: "the active model file"})
    else:
        flash("Rolled back to the previous model.", "ok")
    return redirect(url_for(".index"), 303)


def _flash_failure(what, error, roles):
    """Flash ``what: error`` with files named by their ``roles`` ({path: role}); log the paths."""
    current_app.logger.warning("%s: %s", what, error)
    flash(f"{what}: {by_role(error, roles)}", "error")


def _job_or_404(job_id):
    try:
        return store.load(jobs_dir(), job_id)
    except (FileNotFoundError, ValueError):
        abort(404, f"No job {job_id}.")


def _results(job):
    """The job's RESULTS.json so far, or None before its first configuration."""
    try:
        return read_results(store.job_paths(jobs_dir(), job["id"]).results)
    except BadInput:
        return None


def _pick_figures(job):
    """``{"pick", "baseline"}``: what the job fits (best by simk) and the baselines, or None.

    None until its search has measured simk (or for a search from before simk).
    """
    results = _results(job)
    if not results or not results.get("best_simk"):
        return None
    return {"pick": results["best_simk"], "baseline": results["baseline"]}


def _is_serving(job, active):
    """True when the job's candidate is the model being served."""
    return active is not None and job.get("candidate_sha256") == active.sha256


def _active_model():
    """The serving catalog, or None while there is none."""
    try:
        return current_catalog()
    except ModelUnavailable:
        return None
