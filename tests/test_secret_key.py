"""The session/CSRF key is generated once per instance."""

import os

from webapp.secret_key import load_or_create


def test_secret_key_is_made_once(tmp_path):
    path = str(tmp_path / "instance" / "secret_key")
    key = load_or_create(path)
    assert len(key) == 64 and load_or_create(path) == key
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
