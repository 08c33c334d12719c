"""Who may use the admin pages: HTTP basic auth for ``admin``, throttled, then CSRF.

The password is checked against the werkzeug hash in
``SKETCHREC_ADMIN_PASSWORD_HASH``; while it is unset, or is not a werkzeug
hash, the admin pages do not exist (404). Every admin request is
authenticated before anything reads its body, so an anonymous upload is
refused before it is received; attempts are throttled per client address
(:mod:`.throttle`). Browsers re-send basic-auth credentials on their own, so
every POST also carries a CSRF token (Flask-WTF), checked after the password.
"""

import hmac
import logging
import os
import string

import click
from flask import current_app, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import TooManyRequests, Unauthorized
from werkzeug.security import check_password_hash, generate_password_hash

from .throttle import LoginThrottle

USER = "admin"
REALM = "Sketchrec admin"
HASH_METHODS = ("scrypt", "pbkdf2")  # what werkzeug's generate_password_hash writes
log = logging.getLogger(__name__)
csrf = CSRFProtect()


def init_app(app):
    """Authentication (when enabled) first, then CSRF for the whole app; returns ``enabled``.

    The order matters: Flask runs ``before_request`` functions in the order
    they were registered, and the CSRF check reads the request body.
    """
    enabled = admin_enabled(app)
    if enabled:
        app.before_request(require_admin)
    csrf.init_app(app)
    app.cli.add_command(admin_password)
    app.context_processor(lambda: {"admin_enabled": enabled})
    return enabled


def admin_enabled(app):
    """True when a valid admin password hash is configured; a malformed one is logged (once)."""
    stored = app.config.get("ADMIN_PASSWORD_HASH")
    if not stored:
        return False
    problem = hash_problem(stored)
    if problem:
        # Never the value itself: it may be the password, or most of the hash.
        log.error(
            "SKETCHREC_ADMIN_PASSWORD_HASH is not a werkzeug password hash (%s); the admin "
            "pages are off. Make one with: flask --app webapp admin-password",
            problem,
        )
        return False
    return True


def hash_problem(stored):
    """Why ``stored`` is not a usable ``method$salt$hash`` werkzeug hash, or None."""
    parts = stored.split("$")
    if len(parts) != 3:
        return f"{len(parts)} '$'-separated parts, expected 3: method$salt$hash"
    method, salt, digest = parts
    if method.split(":")[0] not in HASH_METHODS:
        return f"the method is not one of {', '.join(HASH_METHODS)}"
    if not salt or not digest or not set(digest) <= set(string.hexdigits):
        return "the salt or the hex digest is missing"
    try:
        check_password_hash(stored, "")
    except (ValueError, TypeError, OverflowError):
        return "its method parameters are not valid"
    return None


def require_admin():
    """Before any other hook of an admin request: throttle, then check the password."""
    if request.blueprint != "admin":
        return
    credentials = request.authorization
    if credentials is None or credentials.type != "basic":
        raise Unauthorized(www_authenticate=WWWAuthenticate("basic", {"realm": REALM}))
    throttle = login_throttle()
    wait = throttle.attempt(request.remote_addr or "unknown")
    if wait is not None:
        raise TooManyRequests("Too many failed logins; try again later.", retry_after=round(wait))
    if not password_matches(credentials.username or "", credentials.password or ""):
        raise Unauthorized(www_authenticate=WWWAuthenticate("basic", {"realm": REALM}))
    throttle.succeeded(request.remote_addr or "unknown")


def password_matches(username, password):
    """True for ``admin`` and the right password; the same scrypt work for any user name."""
    right_user = hmac.compare_digest(username.encode(), USER.encode())
    right_password = check_password_hash(current_app.config["ADMIN_PASSWORD_HASH"], password)
    return right_user and right_password


def login_throttle():
    """The app's :class:`LoginThrottle`; its SQLite file lives in the jobs folder."""
    config = current_app.config
    return LoginThrottle(
        os.path.join(config["JOBS_DIR"], ".logins.sqlite"),
        config["ADMIN_LOGIN_ATTEMPTS"],
        config["ADMIN_LOGIN_WINDOW"],
    )


@click.command("admin-password")
@click.password_option(help="the admin password (asked for when not given)")
def admin_password(password):
    """Print the hash to set as SKETCHREC_ADMIN_PASSWORD_HASH."""
    click.echo(generate_password_hash(password))
