"""``/thumbnails/<mid>``: a 302 to the model's Sketchfab thumbnail, else a placeholder.

Pages point their ``<img>`` here, so a page never waits on the Sketchfab API.
Only mids of the active model are looked up (nobody can spend our API quota
on arbitrary ids); anything that goes wrong gives a placeholder, never a 5xx.
"""

import logging

from flask import redirect

from ..serving import ModelUnavailable, current_catalog
from . import bp
from .placeholder import placeholder_response
from .sketchfab import FAILED, current_client

log = logging.getLogger(__name__)

IMAGE_MAX_AGE = 24 * 3600  # seconds browsers may keep the redirect
LASTING_MAX_AGE = 3600  # placeholder for an answer that will not change soon
RETRY_MAX_AGE = 60  # placeholder after a failure: try again soon


@bp.get("/thumbnails/<mid>")
def thumbnail(mid):
    """302 to the image URL, or an SVG placeholder with a short or long Cache-Control."""
    try:
        catalog = current_catalog()
    except ModelUnavailable:
        return placeholder_response(mid, mid, RETRY_MAX_AGE)
    row = catalog.row(mid)
    if row is None:
        return placeholder_response(mid, mid, LASTING_MAX_AGE)
    name = str(catalog.names[row])
    try:
        found = current_client().thumbnail(mid)
    except Exception:  # noqa: BLE001 - a broken cache file or the like must still give an image
        log.exception("thumbnail look-up of %s failed", mid)
        found = FAILED
    if found.url is None:
        return placeholder_response(mid, name, LASTING_MAX_AGE if found.lasting else RETRY_MAX_AGE)
    response = redirect(found.url, code=302)
    response.cache_control.public = True
    response.cache_control.max_age = IMAGE_MAX_AGE
    return response
