"""The admin side: retrain, activate and roll back models without a shell.

- ``views``: the routes; ``forms``: the retrain form; ``auth``: basic auth and CSRF;
  ``throttle``: failed logins per client address.
- ``retrain``: what a retrain job runs; ``jobs``: running it in the background.
- ``activation``: which model serves; ``likes_files``: the files it trains on.
- ``trial_views``, ``trial_file``: a candidate on trial; ``visitor_figures``: the trial,
  click-through and hearts on the admin page.

Registered only while a valid admin password hash is configured, so the
routes 404 otherwise.
"""

from . import auth


def init_app(app):
    """CSRF for the whole app, the ``flask admin-password`` command, and the routes when enabled."""
    if auth.init_app(app):
        from . import trial_views  # noqa: F401  (adds the trial routes to bp)
        from .views import bp

        app.register_blueprint(bp)
