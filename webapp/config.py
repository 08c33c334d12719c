"""Configuration: the defaults (docs/configuration.md), then ``SKETCHREC_*`` or a test mapping."""

import os

from training.core import ANN_THRESHOLD

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"", "0", "false", "no", "off"}


def defaults(instance_path):
    """The documented defaults; paths are absolute, under the instance folder."""
    return {
        "MODEL_PATH": os.path.join(instance_path, "models", "active.npz"),
        "SKETCHFAB_API_URL": "https://api.sketchfab.com/v3",
        "SKETCHFAB_TIMEOUT": 3.0,  # seconds: the overall deadline of one API answer
        "SKETCHFAB_IMAGE_ORIGINS": "https://media.sketchfab.com",  # where thumbnails may be
        "THUMBNAIL_CACHE": os.path.join(instance_path, "sketchfab_cache.sqlite"),
        "OFFLINE": False,
        "SECURE_COOKIES": False,  # true behind HTTPS: cookies get the Secure flag
        "PROXY_HOPS": 0,  # reverse proxies whose X-Forwarded-* headers are trusted
        "DATA_DIR": os.path.join(instance_path, "data"),
        "JOBS_DIR": os.path.join(instance_path, "jobs"),
        "ADMIN_PASSWORD_HASH": None,
        "ADMIN_LOGIN_ATTEMPTS": 5,  # failed logins per client address and window
        "ADMIN_LOGIN_WINDOW": 300.0,  # seconds
        "MAX_QUEUED_JOBS": 3,  # retrain jobs waiting behind the running one
        "MAX_CONTENT_LENGTH": 256 * 1024 * 1024,  # largest likes upload, bytes
        "ANN_THRESHOLD": ANN_THRESHOLD,  # models from which similar lists are approximate
        "EVENTS_DB": os.path.join(instance_path, "events.sqlite"),
        "EVENTS_DAYS": 90,  # events older than this are deleted (daily)
        "TRIAL_MODEL_PATH": None,  # a candidate on trial; default trial.npz beside MODEL_PATH
    }


def configure(app, test_config=None):
    """Load defaults, then ``SKETCHREC_*`` (or ``test_config``), then normalise types.

    ``from_prefixed_env`` parses values as JSON when it can, so ``3`` is an int
    and ``true`` a bool but ``True`` stays a string: types are fixed here, once.
    """
    app.config.from_mapping(defaults(app.instance_path))
    if test_config is None:
        app.config.from_prefixed_env("SKETCHREC")
    else:
        app.config.from_mapping(test_config)
    if not app.config["TRIAL_MODEL_PATH"]:
        folder = os.path.dirname(os.path.abspath(str(app.config["MODEL_PATH"])))
        app.config["TRIAL_MODEL_PATH"] = os.path.join(folder, "trial.npz")
    for key in (
        "MODEL_PATH",
        "SKETCHFAB_API_URL",
        "SKETCHFAB_IMAGE_ORIGINS",
        "THUMBNAIL_CACHE",
        "DATA_DIR",
        "JOBS_DIR",
        "EVENTS_DB",
        "TRIAL_MODEL_PATH",
    ):
        app.config[key] = str(app.config[key])
    app.config["SKETCHFAB_TIMEOUT"] = float(app.config["SKETCHFAB_TIMEOUT"])
    app.config["ADMIN_LOGIN_WINDOW"] = float(app.config["ADMIN_LOGIN_WINDOW"])
    for key in (
        "ADMIN_LOGIN_ATTEMPTS",
        "MAX_QUEUED_JOBS",
        "PROXY_HOPS",
        "ANN_THRESHOLD",
        "EVENTS_DAYS",
    ):
        app.config[key] = int(app.config[key])
    app.config["OFFLINE"] = as_bool(app.config["OFFLINE"], "SKETCHREC_OFFLINE")
    app.config["SECURE_COOKIES"] = as_bool(app.config["SECURE_COOKIES"], "SKETCHREC_SECURE_COOKIES")


def as_bool(value, name):
    """A bool from a bool or a word such as ``true``/``False``/``0``; ValueError otherwise."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{name}: expected true or false, got {value!r}")
