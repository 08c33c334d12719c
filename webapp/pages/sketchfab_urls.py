"""Sketchfab model links pasted into the search box."""

from urllib.parse import urlsplit

HOSTS = ("sketchfab.com", "www.sketchfab.com")


def mid_from_url(text):
    """The model id of a Sketchfab model URL, or None when ``text`` is not one.

    Understands ``https://sketchfab.com/3d-models/<slug>-<mid>`` (the slug may
    itself contain dashes, or be absent), ``https://sketchfab.com/models/<mid>``
    and either followed by more path (``/embed``), a query or a fragment; the
    scheme may be left out.
    """
    text = text.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if host not in HOSTS:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2:
        return None
    kind, tail = segments[0], segments[1]
    if kind == "models":
        return tail
    if kind == "3d-models":
        return tail.rsplit("-", 1)[-1]
    return None
