"""Generated placeholder thumbnails: the model's initials on a colour derived from its mid."""

import hashlib

from flask import make_response, render_template

WIDTH, HEIGHT = 320, 180  # px, Sketchfab's 16:9 thumbnail shape


def initials(name):
    """Up to two capitals from the first letters or digits of the first words; ``?`` when none."""
    letters = [next((c for c in word if c.isalnum()), "") for word in name.split()]
    return "".join(letters).upper()[:2] or "?"


def hue(mid):
    """A stable hue in degrees (0..359) for ``mid``."""
    return int.from_bytes(hashlib.sha256(mid.encode()).digest()[:2], "big") % 360


def placeholder_response(mid, name, max_age):
    """An SVG image response (explicit width/height, so browsers give it a natural size)."""
    svg = render_template(
        "placeholder.svg",
        width=WIDTH,
        height=HEIGHT,
        initials=initials(name),
        hue=hue(mid),
        name=name,
    )
    response = make_response(svg)
    response.mimetype = "image/svg+xml"
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    return response
