"""Activation tickets: a swap goes ahead only for a request newer than the active model's."""

import numpy as np
import pytest

from webapp.admin import activation

from tests.training_helpers import write_artifact


def model(path, factors):
    eye = np.eye(3, dtype=np.float32)
    return write_artifact(
        str(path), np.eye(3, factors, dtype=np.float32), list("abc"), list("ABC"), eye
    )


def test_an_older_ticket_never_replaces_a_newer_request(tmp_path):
    active = model(tmp_path / "active.npz", 1)
    first, second = activation.take_ticket(active), activation.take_ticket(active)
    activation.activate(active, model(tmp_path / "two.npz", 2), ticket=second)
    newest = open(active, "rb").read()
    with pytest.raises(activation.Superseded):
        activation.activate(active, model(tmp_path / "one.npz", 3), ticket=first)
    assert open(active, "rb").read() == newest


def test_manual_activation_and_rollback_are_newer_than_any_waiting_job(tmp_path):
    active = model(tmp_path / "active.npz", 1)
    waiting = activation.take_ticket(active)
    activation.activate(active, model(tmp_path / "manual.npz", 2))
    with pytest.raises(activation.Superseded):
        activation.activate(active, model(tmp_path / "job.npz", 3), ticket=waiting)
    later = activation.take_ticket(active)
    activation.roll_back(active)
    with pytest.raises(activation.Superseded):
        activation.activate(active, model(tmp_path / "job.npz", 3), ticket=later)
    assert activation.take_ticket(active) > later  # numbers keep growing
