"""Who may use the admin pages: HTTP basic auth for ``admin``, CSRF on every POST.

The password is checked against the werkzeug hash in
``SKETCHREC_ADMIN_PASSWORD_HASH``; while it is unset the admin pages do not
exist (404). Browsers re-send basic-auth credentials on their own, so every
POST also carries a CSRF token (Flask-WTF).
"""

import click
from flask import current_app, render_template
from flask_httpauth import HTTPBasicAuth
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import Unauthorized
from werkzeug.security import check_password_hash, generate_password_hash

USER = "admin"
auth = HTTPBasicAuth(realm="Sketchrec admin")
csrf = CSRFProtect()


def init_app(app):
    """CSRF for the whole app, ``flask admin-password``, ``admin_enabled`` in templates."""
    csrf.init_app(app)
    app.cli.add_command(admin_password)
    enabled = admin_enabled(app)
    app.context_processor(lambda: {"admin_enabled": enabled})


def admin_enabled(app):
    """True when an admin password hash is configured."""
    return bool(app.config.get("ADMIN_PASSWORD_HASH"))


@auth.verify_password
def verify_password(username, password):
    stored = current_app.config.get("ADMIN_PASSWORD_HASH")
    if username == USER and stored and check_password_hash(stored, password):
        return USER
    return None


@auth.error_handler
def unauthorized(status):
    return render_template("error.html", error=Unauthorized()), status


@click.command("admin-password")
@click.password_option(help="the admin password (asked for when not given)")
def admin_password(password):
    """Print the hash to set as SKETCHREC_ADMIN_PASSWORD_HASH."""
    click.echo(generate_password_hash(password))
