"""Which image URL of a Sketchfab model JSON may become a thumbnail redirect.

Whatever the API sends ends up in a ``Location`` header and under the pages'
Content-Security-Policy, so a URL is accepted only when it is a well-formed
absolute http(s) URL made of the characters RFC 3986 allows (no spaces, no
control characters, nothing outside ASCII) on one of the allowed image origins.
"""

import string
from urllib.parse import urlsplit

MIN_WIDTH = 200  # px: the smallest image at least this wide is chosen
MAX_URL_LENGTH = 2048
# RFC 3986: unreserved, reserved and "%" (for percent-encodings).
URL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")


def origin_of(url):
    """``scheme://host[:port]`` of an absolute http(s) URL, lower-cased; None when it is not one."""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH or not set(url) <= URL_CHARACTERS:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port that is not a number in 0..65535
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None  # "https://media.sketchfab.com@elsewhere/" is not Sketchfab's host
    default = {"http": 80, "https": 443}[parts.scheme.lower()]
    return f"{parts.scheme.lower()}://{parts.hostname}" + (
        f":{port}" if port not in (None, default) else ""
    )


def choose_image(images, origins):
    """URL of the smallest image at least 200 px wide, else of the largest; None if none.

    ``images`` is the API's ``thumbnails.images`` list of dicts with ``url``,
    ``width`` and ``height`` (px); entries without a positive integer width, or
    whose URL is not acceptable on one of ``origins`` (a set of
    ``scheme://host[:port]`` strings), are ignored.
    """
    if not isinstance(images, list):
        return None
    sized = [
        (image["width"], image["url"])
        for image in images
        if isinstance(image, dict)
        and type(image.get("width")) is int
        and image["width"] > 0
        and origin_of(image.get("url")) in origins
    ]
    if not sized:
        return None
    wide = [entry for entry in sized if entry[0] >= MIN_WIDTH]
    return (min(wide) if wide else max(sized))[1]


def usable_image(data, origins):
    """The chosen image URL of a parsed model JSON ``data``, or None when it has none."""
    try:
        images = data["thumbnails"]["images"]
    except (KeyError, TypeError, IndexError):
        return None
    return choose_image(images, origins)


def parse_origins(text):
    """The origins in ``text`` (separated by spaces), normalised as :func:`origin_of` does.

    ValueError names an entry that is not an http(s) origin.
    """
    origins = []
    for entry in text.split():
        origin = origin_of(entry)
        if origin is None:
            raise ValueError(
                f"SKETCHREC_SKETCHFAB_IMAGE_ORIGINS: {entry!r} is not an http(s) origin"
            )
        origins.append(origin)
    return origins
