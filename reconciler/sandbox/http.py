"""Shared HTTP machinery of the sandbox servers: serving, fault injection and request counters.

Each sandbox server is a werkzeug WSGI application served by a threaded werkzeug server in a daemon thread.
The request handler sets ``TCP_NODELAY`` on every accepted socket: without it, Nagle's algorithm and delayed
ACKs add about 40 ms to each keep-alive request, and the sandbox rather than the code under test would
dominate every timing.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import random
import re
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import get_input_stream

# "drop" closes the connection before the endpoint runs: the server did nothing and the client sees a dropped
# connection. "reply_lost" runs the endpoint (a write IS applied) and then closes the connection before the
# answer: the client sees the same dropped connection although the server acted. "lost" answers 204 without
# acting: a write the server acknowledges but never stores. "lost" and "reply_lost" are only scripted (they
# are not among the default random ``error_kinds``).
FAULT_KINDS = ("500", "503", "429", "drop", "stall", "lost", "reply_lost")
WRITE_METHODS = frozenset({"PUT", "POST", "PATCH", "DELETE"})
# A scripted "stall" without a configured duration hangs this long; reset() and stop() release it earlier.
DEFAULT_STALL_SECONDS = 30.0


@dataclass
class FaultConfig:
    """Faults a sandbox server injects; everything is off by default."""

    latency_ms: float = 0.0
    requests_per_second: float | None = None
    error_rate: float = 0.0
    error_kinds: tuple[str, ...] = ("500", "503", "429", "drop")
    seed: int | None = None
    stall_seconds: float = 0.0
    script: list[tuple[str, str, str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for kind in self.error_kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        for _method, _regex, kind, _times in self.script:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")


@dataclass
class _ScriptedFault:
    method: str
    pattern: re.Pattern[str]
    kind: str
    remaining: int


@dataclass(frozen=True)
class FaultDecision:
    """What to do with one request: an optional fault, and the rate-limit figures to report."""

    kind: str | None
    limit: int
    remaining: int
    reset_epoch: int
    retry_after_seconds: int


class Faults:
    """Live, thread-safe handle on the faults of one running server."""

    DEFAULT_RATE_LIMIT = 50

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._config = FaultConfig()
        self._random = random.Random()
        self._script: list[_ScriptedFault] = []
        self._window_second = 0
        self._window_count = 0
        self.configure(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        """A copy of the current configuration (scripted faults not yet used up included)."""
        with self._lock:
            script = [(s.method, s.pattern.pattern, s.kind, s.remaining) for s in self._script]
            return replace(self._config, script=script)

    def configure(self, config: FaultConfig) -> None:
        """Replace every fault setting with ``config``."""
        with self._lock:
            self._config = replace(config, script=list(config.script))
            self._random = random.Random(config.seed)
            self._script = [
                _ScriptedFault(method.upper(), re.compile(regex), kind, times)
                for method, regex, kind, times in config.script
            ]
            self._window_second = 0
            self._window_count = 0
            self._release.set()
            self._release = threading.Event()

    def reset(self) -> None:
        """Turn all faults off and release stalled requests."""
        self.configure(FaultConfig())

    def add_script(self, method: str, path_regex: str, kind: str, times: int = 1) -> None:
        """Answer the next ``times`` requests matching ``method`` ("*": any) and ``path_regex``: ``kind``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._script.append(_ScriptedFault(method.upper(), re.compile(path_regex), kind, times))

    def release_stalls(self) -> None:
        """Wake every request currently stalled (used when a server stops)."""
        with self._lock:
            self._release.set()

    def decide(self, method: str, path: str) -> FaultDecision:
        """Consume the budget and scripts for one request and say which fault, if any, to inject."""
        now = time.time()
        with self._lock:
            config = self._config
            second = int(now)
            if second != self._window_second:
                self._window_second = second
                self._window_count = 0
            self._window_count += 1
            limit = (
                max(1, math.floor(config.requests_per_second))
                if config.requests_per_second
                else self.DEFAULT_RATE_LIMIT
            )
            reset_epoch = second + 1
            retry_after = max(1, math.ceil(reset_epoch - now))
            kind: str | None = None
            for scripted in self._script:
                if (
                    scripted.remaining > 0
                    and scripted.method in ("*", method)
                    and scripted.pattern.search(path)
                ):
                    scripted.remaining -= 1
                    kind = scripted.kind
                    break
            self._script = [s for s in self._script if s.remaining > 0]
            if kind is None and config.requests_per_second and self._window_count > limit:
                kind = "429"
            if kind is None and config.error_rate > 0 and self._random.random() < config.error_rate:
                kind = self._random.choice(config.error_kinds)
            remaining = max(0, limit - self._window_count)
            return FaultDecision(kind, limit, remaining, reset_epoch, retry_after)

    def delay(self, stalled: bool) -> None:
        """Sleep the configured latency and stall; a scripted stall waits until released or timed out."""
        with self._lock:
            latency = self._config.latency_ms / 1000.0
            stall = self._config.stall_seconds
            release = self._release
        if stalled:
            stall = stall or DEFAULT_STALL_SECONDS
        if latency > 0:
            time.sleep(latency)
        if stall > 0:
            release.wait(stall)


@dataclass(frozen=True)
class Answer:
    """One answer a server sent: the request's method and path, the status and the response headers."""

    method: str
    path: str
    status: int
    headers: dict[str, str]


class Counters:
    """Thread-safe request counters by method, route template and concrete path, and the latest answers.

    The answer log keeps the status and headers of the last ``ANSWER_LOG_SIZE`` answers, so a test can see
    what a client that retried on its own (an SDK absorbing a 429) was actually sent.
    """

    ANSWER_LOG_SIZE = 1000

    def __init__(self, is_write: Callable[[str, str], bool]) -> None:
        self._lock = threading.Lock()
        self._is_write = is_write
        self._by_path: Counter[tuple[str, str]] = Counter()
        self._by_endpoint: Counter[str] = Counter()
        self._writes = 0
        self._faults = 0
        self._answers: deque[Answer] = deque(maxlen=self.ANSWER_LOG_SIZE)

    def record(self, method: str, template: str, path: str) -> None:
        """Count one received request."""
        with self._lock:
            self._by_path[(method, path)] += 1
            self._by_endpoint[f"{method} {template}"] += 1

    def record_answered(self, method: str, template: str) -> None:
        """Count one request answered by the endpoint itself (not by a fault)."""
        if self._is_write(method, template):
            with self._lock:
                self._writes += 1

    def record_fault(self) -> None:
        """Count one request answered by an injected fault."""
        with self._lock:
            self._faults += 1

    def record_answer(self, method: str, path: str, response: Response) -> None:
        """Log the status and headers of one answer sent (a dropped connection sends none)."""
        answer = Answer(method, path, response.status_code, dict(response.headers.items()))
        with self._lock:
            self._answers.append(answer)

    def answers(self, status: int | None = None) -> list[Answer]:
        """The latest answers, oldest first; only those with ``status`` if given."""
        with self._lock:
            return [a for a in self._answers if status is None or a.status == status]

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        """Requests received, optionally only those with this method and a path starting with the prefix."""
        with self._lock:
            return sum(
                n
                for (m, p), n in self._by_path.items()
                if (method is None or m == method.upper())
                and (path_prefix is None or p.startswith(path_prefix))
            )

    def by_endpoint(self) -> dict[str, int]:
        """Requests received per ``"METHOD /route/{template}"``."""
        with self._lock:
            return dict(self._by_endpoint)

    def writes(self) -> int:
        """Write requests answered by their endpoint (faulted requests excluded)."""
        with self._lock:
            return self._writes

    def faults_injected(self) -> int:
        """Requests answered by an injected fault."""
        with self._lock:
            return self._faults

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self._by_path.clear()
            self._by_endpoint.clear()
            self._writes = 0
            self._faults = 0
            self._answers.clear()


def no_content() -> Response:
    """A 204 answer without a body and without a Content-Type (as real servers send it)."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


def json_response(
    body: Any,
    status: int = 200,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A response carrying ``body`` as compact JSON."""
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status=status,
        content_type=content_type,
        headers=dict(headers or {}),
    )


Handler = Callable[[Request, dict[str, str]], Response]


class SandboxApplication:
    """A WSGI app: routing, counting and fault injection around each server's endpoint handlers.

    Subclasses list their routes in ``routes()`` (path template, methods, handler) and answer errors in their
    service's own shapes through ``not_found``, ``method_not_allowed``, ``fault_response`` and ``decorate``.
    """

    def __init__(self, faults: Faults, counters: Counters) -> None:
        self.faults = faults
        self.counters = counters
        self._handlers: dict[str, tuple[str, Handler]] = {}
        rules = []
        for index, (template, methods, handler) in enumerate(self.routes()):
            endpoint = f"r{index}"
            self._handlers[endpoint] = (template, handler)
            rules.append(Rule(_werkzeug_rule(template), endpoint=endpoint, methods=list(methods)))
        self._url_map = Map(rules, strict_slashes=False, merge_slashes=False)

    def routes(self) -> Iterable[tuple[str, tuple[str, ...], Handler]]:
        """Route templates such as ``/api/v2/roles/{id}/users`` with their methods and handlers."""
        return ()

    def not_found(self, request: Request) -> Response:
        """Answer a request no route matches."""
        return json_response({"error": "Not Found"}, 404)

    def method_not_allowed(self, request: Request) -> Response:
        """Answer a known path with an unsupported method."""
        return json_response({"error": "Method Not Allowed"}, 405)

    def fault_response(self, kind: str, decision: FaultDecision) -> Response:
        """Answer an injected HTTP error fault (500, 503 or 429)."""
        headers = {}
        if kind == "429":
            headers = {"Retry-After": str(decision.retry_after_seconds)}
        return json_response({"error": f"injected fault {kind}"}, int(kind), headers=headers)

    def decorate(self, request: Request, response: Response, decision: FaultDecision) -> Response:
        """Add headers every answer carries; the base adds rate-limit headers only to 429 answers."""
        if response.status_code == 429:
            response.headers["x-ratelimit-limit"] = str(decision.limit)
            response.headers["x-ratelimit-remaining"] = "0"
            response.headers["x-ratelimit-reset"] = str(decision.reset_epoch)
        return response

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        method = request.method.upper()
        adapter = self._url_map.bind_to_environ(environ)
        template = "(unknown)"
        handler: Handler | None = None
        args: Mapping[str, Any] = {}
        error: Response | None = None
        try:
            endpoint, args = adapter.match()
            template, handler = self._handlers[str(endpoint)]
        except MethodNotAllowed:
            template = request.path
            error = self.method_not_allowed(request)
        except NotFound:
            template = request.path
            error = self.not_found(request)
        self.counters.record(method, template, request.path)
        decision = self.faults.decide(method, request.path)
        self.faults.delay(stalled=decision.kind == "stall")
        if decision.kind in ("500", "503", "429"):
            self.counters.record_fault()
            response = self.fault_response(decision.kind, decision)
        elif decision.kind == "drop":
            self.counters.record_fault()
            return _dropped(environ, start_response)
        elif decision.kind == "lost":
            self.counters.record_fault()
            response = no_content()
        elif error is not None:
            if decision.kind == "reply_lost":
                self.counters.record_fault()
                return _dropped(environ, start_response)
            response = error
        else:
            if decision.kind in ("stall", "reply_lost"):
                self.counters.record_fault()
            assert handler is not None
            response = handler(request, {k: str(v) for k, v in args.items()})
            if response.status_code < 400:
                self.counters.record_answered(method, template)
            if decision.kind == "reply_lost":
                # The endpoint has acted (a write is stored); the answer never reaches the client.
                return _dropped(environ, start_response)
        return self.answer(request, self.decorate(request, response, decision))(environ, start_response)

    def answer(self, request: Request, response: Response) -> Response:
        """Log ``response`` in the counters' answer log and hand it back (every answer sent passes here)."""
        self.counters.record_answer(request.method.upper(), request.path, response)
        return response


def _werkzeug_rule(template: str) -> str:
    """``/a/{id}/b`` -> ``/a/<id>/b``; a trailing ``{name:path}`` accepts slashes."""
    return re.sub(
        r"\{(\w+)(?::path)?\}",
        lambda m: f"<{'path:' if ':path' in m.group(0) else ''}{m.group(1)}>",
        template,
    )


def _drop_connection(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _dropped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Close the connection without an answer.

    Writing to the shut-down socket fails with a broken pipe, which werkzeug treats as a dropped connection:
    the client sees the connection closed without any answer.
    """
    _drop_connection(environ)
    result: Iterable[bytes] = Response(b"", status=500)(environ, start_response)
    return result


class _FastQuietHandler(WSGIRequestHandler):
    """Keep-alive handler with ``TCP_NODELAY`` and no per-request access log.

    werkzeug's handler answers every request with ``Connection: close`` because http.server cannot drain an
    unread request body before the next request line. ``_draining`` reads every body before the application
    runs, so connections can stay open as HTTP/1.1 intends; a client that asks to close still gets it.
    """

    protocol_version = "HTTP/1.1"
    # http.server assumes HTTP/0.9 until the request line parses, and an HTTP/0.9 reply has no status line:
    # a garbage request would get a bare HTML page instead of a readable "400 Bad Request".
    default_request_version = "HTTP/1.0"
    # Idle keep-alive connections are closed after this many seconds instead of holding a thread forever.
    timeout = 120

    def send_header(self, keyword: str, value: str) -> None:
        """Drop werkzeug's unconditional ``Connection: close`` unless the client asked for it."""
        if keyword.lower() == "connection" and value.lower() == "close":
            # A malformed request line (TLS sent to this port, garbage) is answered before the headers are
            # parsed: there is no ``headers`` yet, and that connection must close anyway.
            headers = getattr(self, "headers", None)
            if headers is not None:
                client_wants_close = headers.get("Connection", "").lower() == "close"
                if not client_wants_close and self.request_version >= "HTTP/1.1":
                    return
        super().send_header(keyword, value)

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        """Serve one request through a reader that goes quiet once the body has been read.

        After the response, werkzeug discards "leftover" bytes it finds on the socket, assuming the
        connection closes; on a keep-alive connection those bytes are the client's next request, and
        its blocking read would swallow it and hang. The body is read up front (``_draining``), so
        anything after it belongs to the next request and must stay in the buffer.
        """
        real = self.rfile
        self.rfile = _BodyReader(real)  # type: ignore[assignment]
        try:
            super().run_wsgi()
        finally:
            self.rfile = real

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silence the access log."""

    def log(self, type: str, message: str, *args: Any) -> None:
        """Keep only real errors (a dropped connection is expected and not logged)."""
        if type == "error" and "dropped" not in message.lower():
            super().log(type, message, *args)

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        """A connection dropped on purpose (fault injection) or by the client is not an error."""


class _BodyReader:
    """The request stream, until the body has been read; then reads return nothing (see ``run_wsgi``)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.body_read = False

    def read(self, size: int = -1) -> bytes:
        if self.body_read:
            return b""
        data: bytes = self._stream.read(size)
        return data

    def readline(self, size: int = -1) -> bytes:
        if self.body_read:
            return b""
        line: bytes = self._stream.readline(size)
        return line


def _draining(app: Callable[..., Any]) -> Callable[..., Any]:
    """Read the whole request body before the app runs, so a keep-alive connection never holds leftovers."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raw = environ.get("wsgi.input")
        body = get_input_stream(environ).read()
        if isinstance(raw, _BodyReader):
            raw.body_read = True
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input_terminated"] = False
        result: Iterable[bytes] = app(environ, start_response)
        return result

    return wsgi


class ServerThread:
    """Serves one WSGI app on 127.0.0.1 from a daemon thread."""

    def __init__(self, app: Callable[..., Any], port: int = 0, name: str = "sandbox") -> None:
        try:
            # werkzeug prints its own two lines and exits when the port is taken: raise instead
            with contextlib.redirect_stderr(io.StringIO()):
                self._server: BaseWSGIServer = make_server(
                    "127.0.0.1", port, _draining(app), threaded=True, request_handler=_FastQuietHandler
                )
        except SystemExit:
            raise OSError(
                errno.EADDRINUSE, f"port {port} on 127.0.0.1 is in use by another program"
            ) from None
        self.port: int = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        self._thread.start()
        self._stopped = False

    def stop(self) -> None:
        """Stop serving and close the listening socket (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
