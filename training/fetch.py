"""Download the real Sketchfab likes file, with a progress bar, atomically."""

import requests
from tqdm import tqdm

from .core.atomic import atomic_path
from .core.errors import BadInput
from .core.likes import COUNT_HEADER, HEADER

# The public rec-a-sketch repository's likes file (raw file on GitHub).
DEFAULT_URL = (
    "https://raw.githubusercontent.com/EthanRosenthal/rec-a-sketch/master/data/model_likes_anon.psv"
)


def fetch(url, out, timeout=30, progress=True):
    """Download ``url`` to ``out``; return the number of bytes written.

    The body goes to a temporary file next to ``out`` and is moved into place
    only when complete and starting with the likes header, so a broken or
    wrong download leaves no partial file and an existing ``out`` untouched.
    Raises :class:`BadInput` with a one-line reason.
    """
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            if response.status_code != 200:
                raise BadInput(f"{url}: HTTP {response.status_code}")
            total = int(response.headers.get("Content-Length") or 0) or None
            with atomic_path(out) as tmp:
                written = _save(response, tmp, total, progress)
                _check_header(tmp, url)
                if total is not None and written != total:
                    raise BadInput(f"{url}: download ended after {written} of {total} bytes")
    except requests.RequestException as e:
        raise BadInput(f"{url}: download failed: {type(e).__name__}: {e}") from None
    return written


def _save(response, path, total, progress):
    written = 0
    with (
        open(path, "wb") as f,
        tqdm(total=total, unit="B", unit_scale=True, disable=not progress, desc="likes") as bar,
    ):
        for chunk in response.iter_content(chunk_size=1 << 16):
            f.write(chunk)
            written += len(chunk)
            bar.update(len(chunk))
    return written


def _check_header(path, url):
    with open(path, "rb") as f:
        first = f.readline().decode("utf-8", "replace").strip().lstrip("\ufeff")
    if first not in ("|".join(HEADER), "|".join(COUNT_HEADER)):
        raise BadInput(f"{url}: not a likes file (first line {first[:60]!r})")
