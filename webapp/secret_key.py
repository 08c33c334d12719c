"""The session/CSRF key: ``SKETCHREC_SECRET_KEY``, else one generated once per instance.

The generated key is kept in ``instance/secret_key`` so every worker and every
restart signs with the same key. It is created with ``os.link`` from a
temporary file, which fails if another worker got there first: exactly one
key ever wins.
"""

import contextlib
import os
import secrets
import tempfile


def init_app(app):
    """Set ``SECRET_KEY`` from the configuration or the instance folder."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_or_create(os.path.join(app.instance_path, "secret_key"))


def load_or_create(path):
    """The key stored at ``path``, creating it (mode 0600) if missing."""
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".secret-")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.remove(tmp)
    with open(path, encoding="ascii") as f:
        return f.read().strip()
