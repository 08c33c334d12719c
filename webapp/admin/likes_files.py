"""The likes files the admin can train on: listing, and uploads checked before use."""

import os
import secrets
from datetime import UTC, datetime

from training.core import BadInput, prepare_likes, read_likes
from training.core.event_likes import append_likes, heart_likes

EXTENSIONS = (".psv", ".csv", ".txt")


def list_files(folder):
    """``[{"name", "bytes", "modified"}]`` of the likes files in ``folder``, newest first."""
    if not os.path.isdir(folder):
        return []
    files = []
    for entry in os.scandir(folder):
        if entry.is_file() and entry.name.endswith(EXTENSIONS) and not entry.name.startswith("."):
            stat = entry.stat()
            files.append(
                {
                    "name": entry.name,
                    "bytes": stat.st_size,
                    "modified": datetime.fromtimestamp(stat.st_mtime, UTC),
                }
            )
    return sorted(files, key=lambda f: f["modified"], reverse=True)


def resolve(folder, name):
    """Absolute path of the listed file ``name``; ``None`` for anything else (no ``..`` tricks)."""
    if name in {f["name"] for f in list_files(folder)}:
        return os.path.join(os.path.abspath(folder), name)
    return None


def save_upload(folder, stream):
    """Save an uploaded likes file under a generated name and check it.

    Returns ``(name, prepared)``. A file the loader rejects is deleted and
    :class:`BadInput` is raised with the loader's one-line message, naming
    the uploaded file's line.
    """
    os.makedirs(folder, exist_ok=True)
    name = f"upload-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}.psv"
    partial = os.path.join(folder, "." + name)
    stream.save(partial)
    try:
        prepared = prepare_likes(read_likes(partial))
    except BadInput as e:
        os.remove(partial)
        raise BadInput(str(e).replace(partial, "the uploaded file", 1)) from None
    os.replace(partial, os.path.join(folder, name))
    return name, prepared


def with_hearts(likes_path, events_path, folder, job_id):
    """``(path, count)``: a copy of the likes file followed by the visitors' hearts, written
    as ``<job_id>.likes.psv`` in ``folder``, and how many hearts it adds.

    :class:`BadInput` when the events file cannot be read.
    """
    hearts = heart_likes(events_path)
    path = os.path.join(folder, f"{job_id}.likes.psv")
    append_likes(likes_path, hearts, path)
    return path, len(hearts)
