"""Sketchrec web application: similar Sketchfab models from WRMF item vectors.

``create_app`` is the application factory (``flask --app webapp run``,
``gunicorn 'webapp:create_app()'``). Each concern is one blueprint: ``pages``
(HTML), ``api`` (JSON) and ``thumbnails`` (Sketchfab images or placeholders).
Further blueprints (the admin pages) are registered the same way.
"""

import os

from flask import Flask

from . import admin, admin_auth, api, config, errors, model_store, pages, secret_key, sketchfab, thumbnails

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(test_config=None):
    """Build the app; ``test_config`` (a mapping) replaces the environment when given."""
    app = Flask(
        __name__,
        instance_path=os.path.join(ROOT, "instance"),
        instance_relative_config=True,
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
    )
    config.configure(app, test_config)

    errors.init_app(app)
    secret_key.init_app(app)
    admin_auth.init_app(app)
    model_store.init_app(app)
    sketchfab.init_app(app)

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(thumbnails.bp)
    if admin_auth.admin_enabled(app):  # without a password hash the admin routes do not exist
        app.register_blueprint(admin.bp)
    return app
