"""Behind a reverse proxy: trust its ``X-Forwarded-*`` headers, for as many hops as configured.

With ``SKETCHREC_PROXY_HOPS=N`` (N > 0), Werkzeug's ``ProxyFix`` takes the
client address, scheme and host from the last N proxies' headers, so the
admin login throttle counts each client, not the proxy. At 0 (the default)
the headers are ignored: a client cannot pick its own address by sending one.
"""

from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app):
    """Wrap ``app.wsgi_app`` in ``ProxyFix`` when ``PROXY_HOPS`` is above 0."""
    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
