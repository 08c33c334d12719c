"""Sketchrec web application: similar Sketchfab models from WRMF item vectors.

``create_app`` is the application factory (``flask --app webapp run``,
``gunicorn 'webapp:create_app()'``). Its parts, each a sub-package with an
``init_app``: ``serving`` (the active model), ``pages`` (the gallery's HTML),
``api`` (JSON), ``events`` (visitors' consented events), ``trial`` (a
candidate model interleaved with the active one), ``thumbnails`` (Sketchfab
images or placeholders) and ``admin`` (retraining, only with a password
hash); ``security_headers`` adds the Content-Security-Policy and friends to
every response; ``proxy`` trusts ``X-Forwarded-*`` from ``PROXY_HOPS``
reverse proxies.
"""

import os

from flask import Flask

from . import (
    admin,
    api,
    config,
    errors,
    events,
    pages,
    proxy,
    secret_key,
    security_headers,
    serving,
    thumbnails,
    trial,
)

# templates/ and static/ sit beside the packages (the project's layout).
PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(test_config=None):
    """Build the app; ``test_config`` (a mapping) replaces the environment when given."""
    app = Flask(
        __name__,
        instance_path=os.path.join(PROJECT_DIR, "instance"),
        instance_relative_config=True,
        template_folder=os.path.join(PROJECT_DIR, "templates"),
        static_folder=os.path.join(PROJECT_DIR, "static"),
    )
    config.configure(app, test_config)
    proxy.init_app(app)
    errors.init_app(app)
    secret_key.init_app(app)
    security_headers.init_app(app)

    serving.init_app(app)
    trial.init_app(app)
    pages.init_app(app)
    api.init_app(app)
    events.init_app(app)
    thumbnails.init_app(app)
    admin.init_app(app)
    return app
