"""``/thumbnails/<mid>``: a 302 to the model's Sketchfab thumbnail, else a placeholder.

Pages point their ``<img>`` here, so a page never waits on the Sketchfab API,
and neither does this route: a thumbnail not yet known answers a placeholder
with a short max-age at once while its look-up runs in the background
(``static/thumbnails.js`` asks once more a little later). Only mids of the
active model are looked up (nobody can spend our API quota on arbitrary ids);
anything that goes wrong gives a placeholder, never a 5xx.
"""

import logging

from flask import redirect

from ..serving import ModelUnavailable, current_catalog
from . import bp
from .placeholder import placeholder_response
from .sketchfab import current_client

log = logging.getLogger(__name__)

IMAGE_MAX_AGE = 24 * 3600  # seconds browsers may keep the redirect
PLACEHOLDER_MAX_AGE = {
    "lasting": 3600,  # an answer that will not change soon
    "failed": 60,  # the API is failing or held: try again later
    "pending": 5,  # being looked up right now: ask again in a moment
}


@bp.get("/thumbnails/<mid>")
def thumbnail(mid):
    """302 to the image URL, or an SVG placeholder with a short or long Cache-Control."""
    try:
        return thumbnail_response(mid)
    except ModelUnavailable:
        return placeholder_response(mid, mid, PLACEHOLDER_MAX_AGE["failed"])
    except Exception:  # noqa: BLE001 - the promise is an image, whatever broke
        log.exception("thumbnail of %r failed", mid)
        return placeholder_response(mid, mid, PLACEHOLDER_MAX_AGE["failed"])


def thumbnail_response(mid):
    """The route's answer; may raise (a model that fails to load, a cache that cannot be read)."""
    catalog = current_catalog()
    row = catalog.row(mid)
    if row is None:
        return placeholder_response(mid, mid, PLACEHOLDER_MAX_AGE["lasting"])
    name = str(catalog.names[row])
    found = current_client().thumbnail(mid)
    if found.url is None:
        return placeholder_response(mid, name, PLACEHOLDER_MAX_AGE[found.state])
    response = redirect(found.url, code=302)
    response.cache_control.public = True
    response.cache_control.max_age = IMAGE_MAX_AGE
    return response
