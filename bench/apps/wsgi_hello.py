# The WSGI app for the optional gunicorn / mod_wsgi comparison: same routes as
# bench/apps/hello.ts.
import hashlib

BIG = b"x" * (64 * 1024)


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/64k":
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BIG)))])
        return [BIG]
    if path == "/upload":
        h = hashlib.sha256()
        stream = environ["wsgi.input"]
        while True:
            chunk = stream.read(65536)
            if not chunk:
                break
            h.update(chunk)
        body = h.hexdigest().encode()
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]
    body = b"Hello world!"
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
