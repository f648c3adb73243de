"""The WSGI entry point: ``gunicorn -c gunicorn.conf.py wsgi:app``.

``python wsgi.py`` runs a development server on gevent's WSGI server (patched first).
"""

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

from gateway import create_app

app = create_app()

if __name__ == "__main__":
    import os

    from gevent.pywsgi import WSGIServer

    host, _, port = os.environ.get("GATEWAY_BIND", "127.0.0.1:8787").rpartition(":")
    WSGIServer((host or "127.0.0.1", int(port)), app).serve_forever()
