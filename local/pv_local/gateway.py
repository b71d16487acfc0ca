"""The local HTTP gateway: what API Gateway's HTTP API and its JWT authorizer do, in-process.

It serves the routes the template declares for a function (its `HttpApi` events) on 127.0.0.1 and
a free port. A route behind the authorizer needs `Authorization: Bearer <token>`: a token signed
with this gateway's secret (HS256; locally there is no Cognito), unexpired, with its issuer and
audience; otherwise 401, as API Gateway answers. A request becomes an HTTP API payload 2.0 event
with the token's claims in `requestContext.authorizer.jwt.claims` (list claims flattened to
"[a b]" as API Gateway does), and the function's handler runs through the event pump's
`invocation`, like a Lambda invocation. So the same handler code answers here and on AWS.

`LocalTokens` signs one fixed development user per role (`reviewer`, `viewer`).
Not emulated: throttling, access logs, payload size limits, custom domains.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pv_local.pump import LocalFunction
from pv_local.template import HttpRoute

log = logging.getLogger(__name__)

ISSUER = "pv-local"
AUDIENCE = "pv-local-review"
ROLES = ("reviewer", "viewer")
# The fixed development users, one per role.
DEV_USERS = {
    "reviewer": {"sub": "0c0a1e00-0000-4000-8000-000000000001", "cognito:username": "local-reviewer"},
    "viewer": {"sub": "0c0a1e00-0000-4000-8000-000000000002", "cognito:username": "local-viewer"},
}
MAX_BODY_BYTES = 10 * 1024 * 1024  # HTTP APIs refuse larger payloads


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LocalTokens:
    """HS256 JWTs for the development users, in the claims shape of Cognito ID tokens."""

    def __init__(self, secret: bytes | None = None, ttl_s: int = 12 * 3600) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self.ttl_s = ttl_s

    def issue(self, role: str, *, now: float | None = None) -> str:
        if role not in DEV_USERS:
            raise ValueError(f"no development user for role {role!r}")
        issued = int(now if now is not None else time.time())
        claims = {
            **DEV_USERS[role],
            "cognito:groups": [role],
            "iss": ISSUER,
            "aud": AUDIENCE,
            "token_use": "id",
            "iat": issued,
            "exp": issued + self.ttl_s,
        }
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{header}.{body}.{self._sign(f'{header}.{body}')}"

    def verify(self, token: str, *, now: float | None = None) -> dict[str, Any] | None:
        """The claims of a valid token, else None (bad signature, algorithm, issuer, audience or
        expiry, or not a JWT at all)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
            return None
        if not hmac.compare_digest(self._sign(f"{parts[0]}.{parts[1]}"), parts[2]):
            return None
        moment = now if now is not None else time.time()
        if claims.get("iss") != ISSUER or claims.get("aud") != AUDIENCE:
            return None
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= moment:
            return None
        return claims

    def _sign(self, signing_input: str) -> str:
        return _b64(hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest())


def flattened_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as an HTTP API JWT authorizer passes them: strings, lists as "[a b]"."""
    flat = {}
    for key, value in claims.items():
        if isinstance(value, list):
            flat[key] = "[" + " ".join(str(v) for v in value) + "]"
        else:
            flat[key] = str(value)
    return flat


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes


Invoke = Callable[[LocalFunction, dict[str, Any]], Any]


class LocalGateway:
    """An HTTP API for one function's routes, on 127.0.0.1 and a free port."""

    def __init__(
        self,
        function: LocalFunction,
        routes: list[HttpRoute],
        invoke: Invoke,
        tokens: LocalTokens,
        *,
        account_id: str = "123456789012",
    ) -> None:
        self.function = function
        self.routes = routes
        self.invoke = invoke
        self.tokens = tokens
        self.account_id = account_id
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The API's base URL, with a trailing slash (as the stack output ReviewApiUrl)."""
        if self._server is None:
            raise RuntimeError("the gateway is not started")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/"

    def start(self) -> LocalGateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                answer = gateway.answer(
                    self.command, self.path, dict(self.headers.items()), self._body(), self.client_address[0]
                )
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(min(length, MAX_BODY_BYTES + 1)) if length else b""

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("gateway: %s", format % args)  # no query strings or bodies at INFO

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # one request -------------------------------------------------------------------------------

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> _Answer:
        """What API Gateway answers to one request."""
        parsed = urllib.parse.urlsplit(target)
        path = urllib.parse.unquote(parsed.path) or "/"
        for route in self.routes:
            params = route.matches(method, path)
            if params is not None:
                break
        else:
            return _json(404, {"message": "Not Found"})
        if len(body) > MAX_BODY_BYTES:
            return _json(413, {"message": "Request Entity Too Large"})
        lowered = {k.lower(): v for k, v in headers.items()}
        claims = None
        if route.authorized:
            scheme, _, token = lowered.get("authorization", "").partition(" ")
            claims = self.tokens.verify(token.strip()) if scheme.lower() == "bearer" else None
            if claims is None:
                return _json(401, {"message": "Unauthorized"}, {"WWW-Authenticate": "Bearer"})
        event = self.event(method, path, parsed.query, lowered, body, source_ip, route, params, claims)
        try:
            response = self.invoke(self.function, event)
        except Exception:
            log.exception("function %s raised", self.function.name)
            return _json(500, {"message": "Internal Server Error"})
        return _from_lambda(response)

    def event(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        source_ip: str,
        route: HttpRoute,
        params: dict[str, str],
        claims: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """The HTTP API payload format 2.0 event of a request."""
        now = datetime.now(UTC)
        route_key = f"{route.method} {route.path}"
        parameters: dict[str, list[str]] = {}
        for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            parameters.setdefault(key, []).append(value)
        text_body: str | None = None
        encoded = False
        if body:
            try:
                text_body = body.decode("utf-8")
            except UnicodeDecodeError:
                text_body, encoded = base64.b64encode(body).decode(), True
        context: dict[str, Any] = {
            "accountId": self.account_id,
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        }
        if claims is not None:
            context["authorizer"] = {"jwt": {"claims": flattened_claims(claims), "scopes": None}}
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": query,
            "headers": {k: v for k, v in headers.items() if k != "cookie"},
            "requestContext": context,
            "isBase64Encoded": encoded,
        }
        if "cookie" in headers:
            event["cookies"] = [c.strip() for c in headers["cookie"].split(";") if c.strip()]
        if parameters:
            event["queryStringParameters"] = {k: ",".join(v) for k, v in parameters.items()}
        if params:
            event["pathParameters"] = params
        if text_body is not None:
            event["body"] = text_body
        return event


def _json(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(
        status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload).encode()
    )


def _from_lambda(response: Any) -> _Answer:
    """A Lambda proxy response (payload 2.0) as HTTP; a response without statusCode is JSON 200."""
    if not isinstance(response, dict) or "statusCode" not in response:
        return _json(200, response if isinstance(response, dict) else {"body": response})
    headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode()
    for cookie in response.get("cookies") or []:
        headers.setdefault("Set-Cookie", cookie)
    return _Answer(int(response["statusCode"]), headers, data)
