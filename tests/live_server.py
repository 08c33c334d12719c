"""An app served over real HTTP on loopback, for tests that need a real client."""

import threading

from werkzeug.serving import make_server


def serve(app):
    """Yield the URL of ``app`` served over real HTTP on a free loopback port (fixture body)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
