"""In-process calls to the local moto server: this process's boto3 requests skip HTTP.

The local stack's functions run in this process beside moto, so each AWS call they make over
HTTP to the moto server costs a new TCP connection (moto's werkzeug server closes every
connection), a request parse and a handoff to a server thread, on the same cores, for each of a
document's dozen calls. `InProcessMoto` answers those requests on botocore's `before-send` event
instead, from the same application the moto server runs (same routing, same URLs, same backends
and state), and its response comes back as the one botocore would have read from the socket.
Only requests for the moto server's own `host:port` are answered; anything else (the model
endpoint, real AWS) goes out as before, and other processes (a user's scripts, `stack.json`)
still reach moto over HTTP.

A request is answered without Flask. The signed request becomes the WSGI environ moto's request
handler would build for it (the path percent-decoded once, S3 metadata header names kept with
their underscores). The service's Flask app, from moto's dispatcher once per service, gives its
URL map (bound once per host) and views: the map matches path and method to a view, a moto
`convert_to_flask_response` whose callback is the service's response method, and that is called
as `convert_to_flask_response.__call__` calls it (moto's `Request`, here the app's own request
class, the recorder, `ClientError` -> 400). Its (status, headers, body) is finished as
`flask.Response` and Flask-CORS would finish it: the default content type, Content-Length, a
HEAD's length from moto, `Access-Control-Allow-Origin: *`, no body for HEAD, 204 or 304; a
werkzeug `HTTPException` out of a view (moto's S3 416) answers with its own response, as Flask's
handler does. What only Flask would answer (no matching route; a request with an Origin header,
which Flask-CORS answers from the request; an app with hooks or error handlers of its own) runs
through the Flask app as a WSGI app, still in process. This costs less CPU per call than
running every request through Flask with werkzeug's EnvironBuilder, about 18% (docs/PERFORMANCE.md).

It also counts what it answered (`calls`) and the time spent in moto per thread, so the pump can
tell a function's own CPU from the emulator's (`thread_seconds`).
"""

from __future__ import annotations

import io
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ClientError
from botocore.handlers import BUILTIN_HANDLERS

_EVENT = "before-send"
_UNIQUE_ID = "pv-local-in-process-moto"


def request_parts(request: AWSPreparedRequest) -> tuple[bytes, dict[str, str]]:
    """A botocore request's body as bytes and its headers as strings (as they go on the wire)."""
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()}
    return body or b"", headers


class RawBody(io.BytesIO):
    """A response body botocore can read whole or stream (what urllib3 would give it)."""

    def stream(self, amt: int | None = 1024 * 1024, **_: Any) -> Iterator[bytes]:
        while chunk := self.read(amt):
            yield chunk


class InProcessMoto:
    """Answers this process's boto3 requests for the moto server at `netloc` from its WSGI app."""

    def __init__(self, app: Any, netloc: str) -> None:
        self.app = app  # moto's DomainDispatcherApplication (the one the server runs)
        self.netloc = netloc  # "127.0.0.1:PORT"
        self.calls: Counter[str] = Counter()  # "service.Operation" -> requests answered
        self.seconds: dict[str, float] = {}  # "service.Operation" -> wall seconds inside moto
        self._lock = threading.Lock()
        self._local = threading.local()
        self._services: dict[str, _Routes] = {}  # botocore service id -> moto's app for it
        self.flask_calls = 0  # requests only the Flask app could answer (none from boto3)

    # botocore's hook ----------------------------------------------------------------------

    def __call__(self, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        parsed = urllib.parse.urlsplit(request.url)
        if parsed.netloc != self.netloc:
            return None
        operation = _operation(kwargs)
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            status, headers, body = self._dispatch(request, parsed, operation.partition(".")[0])
        finally:
            local, wall = self._local, time.perf_counter() - wall
            local.wall = getattr(local, "wall", 0.0) + wall
            local.cpu = getattr(local, "cpu", 0.0) + time.thread_time() - cpu
            with self._lock:
                self.calls[operation] += 1
                self.seconds[operation] = self.seconds.get(operation, 0.0) + wall
        return AWSResponse(request.url, status, headers, RawBody(body))  # type: ignore[arg-type]

    def _dispatch(
        self, request: AWSPreparedRequest, parsed: urllib.parse.SplitResult, service: str
    ) -> tuple[int, dict[str, str], bytes]:
        environ = self._environ(request, parsed)
        # The dispatcher finds a request's service by inferring it from headers and listing moto's
        # modules on disk, each time; here the service is known, so its app is looked up once.
        routes = self._services.get(service)
        if routes is None:
            routes = self._services.setdefault(service, _Routes(self.app.get_application(environ)))
        answer = routes.answer(environ)
        if answer is not None:
            return answer
        with self._lock:
            self.flask_calls += 1
        return _run_wsgi(routes.app, environ)

    def _environ(self, request: AWSPreparedRequest, parsed: urllib.parse.SplitResult) -> dict[str, Any]:
        """The WSGI environ moto's server would build for this request, S3 metadata names kept."""
        from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY, should_preserve_original_header_name

        body, headers = request_parts(request)
        host, _, port = self.netloc.partition(":")
        raw_uri = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": _wsgi_str(urllib.parse.unquote(parsed.path) or "/"),
            "QUERY_STRING": _wsgi_str(parsed.query),
            "REQUEST_URI": raw_uri,
            "RAW_URI": raw_uri,
            "SERVER_NAME": host,
            "SERVER_PORT": port or "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": parsed.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        headers.setdefault("Host", self.netloc)
        content_type: str | None = None
        content_length: str | None = None
        seen_length = False
        preserved: dict[str, str] = {}
        keep: dict[str, str] = {}
        for name, value in headers.items():
            lower = name.lower()
            if lower == "content-type":
                content_type = value if content_type is None else content_type
                continue
            if lower == "content-length":
                if not seen_length:  # the first one, a number or nothing (as werkzeug reads it)
                    seen_length, content_length = True, _int_str(value)
                continue
            key = f"HTTP_{name.upper().replace('-', '_')}"
            environ[key] = f"{environ[key]}, {value}" if key in environ else value
            # As moto's request handler does: S3 metadata keys keep their underscores.
            if should_preserve_original_header_name(name):
                preserved.setdefault(key, name)
                keep[key] = value
        environ.update(keep)
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = preserved
        if content_type is not None:
            environ["CONTENT_TYPE"] = content_type
        if body:
            content_length = str(len(body))
        elif (content_type or "").partition(";")[0].strip() == _FORM:
            content_length = "0"
        if content_length is not None:
            environ["CONTENT_LENGTH"] = content_length
        return environ

    # accounting ---------------------------------------------------------------------------

    def thread_seconds(self) -> tuple[float, float]:
        """(wall, CPU) seconds this thread has spent inside moto through this transport."""
        return getattr(self._local, "wall", 0.0), getattr(self._local, "cpu", 0.0)

    def total_calls(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    # installation -------------------------------------------------------------------------

    @contextmanager
    def installed(self) -> Iterator[InProcessMoto]:
        """Answer requests in process for every boto3 session made while installed, and the
        default session if there is one already."""
        entry = (_EVENT, self)
        BUILTIN_HANDLERS.append(entry)
        default = boto3.DEFAULT_SESSION
        if default is not None:
            default._session.get_component("event_emitter").register_first(_EVENT, self, unique_id=_UNIQUE_ID)
        try:
            yield self
        finally:
            BUILTIN_HANDLERS.remove(entry)
            if default is not None:
                default._session.get_component("event_emitter").unregister(_EVENT, unique_id=_UNIQUE_ID)


_FORM = "application/x-www-form-urlencoded"
_ACL_ORIGIN = "Access-Control-Allow-Origin"
# Request headers Flask-CORS (or werkzeug's websocket routing) would answer differently by: such a
# request goes through the Flask app. boto3 sends none of them.
_FLASK_ONLY = ("HTTP_ORIGIN", "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK", "HTTP_UPGRADE")


class _Routes:
    """One moto service's Flask app, answered without Flask: its URL map matches a request to a
    view, and the view's response method is called as moto's `convert_to_flask_response` calls it,
    with the response finished as Flask and Flask-CORS would finish it. An app with hooks, error
    handlers or settings that would change an answer is always run as a WSGI app instead."""

    def __init__(self, app: Any) -> None:
        import moto.moto_api
        from moto.core.request import normalize_request
        from moto.core.utils import convert_to_flask_response
        from werkzeug.datastructures import Headers
        from werkzeug.exceptions import BadRequestKeyError, HTTPException
        from werkzeug.http import remove_entity_headers
        from werkzeug.urls import iri_to_uri
        from werkzeug.utils import get_content_type

        self.app = app
        self.view_class = convert_to_flask_response
        self.normalize_request = normalize_request
        self.moto_api = moto.moto_api
        self.headers_class = Headers
        self.http_exception, self.bad_request_key = HTTPException, BadRequestKeyError
        self.remove_entity_headers, self.iri_to_uri = remove_entity_headers, iri_to_uri
        self.default_type = get_content_type(app.response_class.default_mimetype, "utf-8")
        self.cors, self.direct = _plain_flask_app(app)
        self._adapters: dict[tuple[str, str], Any] = {}  # (Host, scheme) -> the bound url map

    def answer(self, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes] | None:
        """The response, or None where only the Flask app can tell (no route, a CORS request)."""
        if not self.direct or any(key in environ for key in _FLASK_ONLY):
            return None
        app = self.app
        key = environ.get("HTTP_HOST", ""), environ["wsgi.url_scheme"]
        adapter = self._adapters.get(key)
        if adapter is None:
            adapter = self._adapters.setdefault(key, app.url_map.bind_to_environ(environ))
        method = environ["REQUEST_METHOD"]
        try:
            rule, view_args = adapter.match(_wsgi_decode(environ["PATH_INFO"]), method, return_rule=True)
        except self.http_exception:  # not found, a redirect: Flask's own answers
            return None
        view = app.view_functions.get(rule.endpoint)
        if not isinstance(view, self.view_class):
            return None
        flask_request = app.request_class(environ)  # what Flask's request context would make
        flask_request.json_module = app.json
        flask_request.url_rule, flask_request.view_args = rule, view_args
        try:
            try:
                # convert_to_flask_response.__call__, without Flask's request proxy:
                request = self.normalize_request(flask_request)
                self.moto_api.recorder._record_request(request)
                result = view.callback(request, request.raw_url, dict(request.headers))
            except ClientError as exc:
                result = 400, {}, exc.response["Error"]["Message"]
        except self.http_exception as exc:
            if isinstance(exc, self.bad_request_key):
                raise  # a debug-mode Flask app lets these out too
            return self._http_error(exc, environ, method)
        finally:
            flask_request.close()
        if len(result) == 3:
            status, headers, content = result
        else:
            status, headers, content = 200, {}, result
        # flask.Response(response=content, status=status, headers=headers):
        if isinstance(headers, self.headers_class):
            out = headers
        else:
            out = self.headers_class(headers) if headers else self.headers_class()
        if "content-type" not in out:
            out["Content-Type"] = self.default_type
        if content is None:
            parts, sequence = [], True
        elif isinstance(content, (str, bytes, bytearray)):
            data = content.encode("utf-8") if isinstance(content, str) else content
            parts, sequence = [data], True
            out["Content-Length"] = str(len(data))
        else:
            parts, sequence = content, isinstance(content, (list, tuple))
        if method == "HEAD" and "content-length" in headers:
            out["Content-Length"] = headers["content-length"]
        return self._finish(_status_code(status), out, parts, sequence, method)

    def _http_error(
        self, exc: Any, environ: dict[str, Any], method: str
    ) -> tuple[int, dict[str, str], bytes]:
        """A werkzeug HTTPException out of a view (S3's RangeNotSatisfiable): Flask answers with the
        exception's own response."""
        response = exc.get_response(environ)
        headers = response.get_wsgi_headers(environ)
        iterable = response.get_app_iter(environ)
        try:
            body = b"".join(iterable)
        finally:
            iterable.close()
        if "content-type" not in headers:
            headers["Content-Type"] = self.default_type
        return self._finish(response.status_code, headers, [body], False, method)

    def _finish(
        self, status: int, headers: Any, parts: Any, sequence: bool, method: str
    ) -> tuple[int, dict[str, str], bytes]:
        """Flask-CORS's header, then what werkzeug's Response does on its way out."""
        if self.cors and not headers.get(_ACL_ORIGIN):
            headers.add(_ACL_ORIGIN, "*")
        out = self.headers_class(headers)
        location = content_location = content_length = None
        for name, value in out:
            lower = name.lower()
            if lower == "location":
                location = value
            elif lower == "content-location":
                content_location = value
            elif lower == "content-length":
                content_length = value
        if location is not None:
            out["Location"] = self.iri_to_uri(location)
        if content_location is not None:
            out["Content-Location"] = self.iri_to_uri(content_location)
        informational = 100 <= status < 200
        if informational or status == 204:
            out.remove("Content-Length")
        elif status == 304:
            self.remove_entity_headers(out)
        empty = method == "HEAD" or informational or status in (204, 304)
        try:
            body = b""
            if sequence and content_length is None and not (informational or status in (204, 304)):
                body = b"".join(p.encode("utf-8") if isinstance(p, str) else p for p in parts)
                out["Content-Length"] = str(len(body))  # a HEAD's too, as werkzeug counts it
                body = b"" if empty else body
            elif not empty:
                body = b"".join(p.encode("utf-8") if isinstance(p, str) else p for p in parts)
        finally:
            close = getattr(parts, "close", None)
            if close is not None:
                close()
        return status, dict(out.items()), body


def _plain_flask_app(app: Any) -> tuple[bool, bool]:
    """(whether Flask-CORS adds its header, whether the app can be answered without Flask): no
    request hooks or error handlers besides moto's global Flask-CORS with its defaults, no server
    name or host matching."""
    after = [f for funcs in app.after_request_funcs.values() for f in funcs]
    cors = [f.__name__ for f in after] == ["cors_after_request"]
    hooks = (
        app.before_request_funcs,
        app.url_value_preprocessors,
        app.teardown_request_funcs,
        app.error_handler_spec,
    )
    plain = (
        (cors or not after)
        and not any(v for spec in hooks for v in spec.values())
        and not any(key.startswith("CORS_") for key in app.config)
        and app.config.get("SERVER_NAME") is None
        and app.config.get("TRUSTED_HOSTS") is None
        and not app.url_map.host_matching
        and not app.subdomain_matching
    )
    return cors, plain


def _run_wsgi(app: Any, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """The request through moto's Flask app for the service, as the HTTP server runs it."""
    from werkzeug.test import run_wsgi_app

    iterable, status, response_headers = run_wsgi_app(app, environ, buffered=True)
    try:
        content = b"".join(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return int(status.split(" ", 1)[0]), dict(response_headers.items()), content


def _status_code(status: Any) -> int:
    """The number werkzeug's Response reads from a view's status (an int, or "404", "200 OK")."""
    if not isinstance(status, str):
        return int(status)
    code, _, _ = status.strip().partition(" ")
    try:
        return int(code)
    except ValueError:
        return 0


def _wsgi_str(text: str) -> str:
    """A WSGI environ string: the text's UTF-8 bytes read as latin-1."""
    return text.encode("utf-8").decode("latin-1")


def _wsgi_decode(text: str) -> str:
    return text.encode("latin-1").decode("utf-8", "replace")


def _int_str(value: str) -> str | None:
    try:
        return str(int(value))
    except ValueError:
        return None


def _operation(kwargs: dict[str, Any]) -> str:
    """`before-send.sqs.ReceiveMessage` -> `sqs.ReceiveMessage`."""
    return str(kwargs.get("event_name", "")).partition(".")[2]
