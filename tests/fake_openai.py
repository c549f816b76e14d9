"""An in-process fake OpenAI-compatible server that misbehaves on purpose (fault-injection tests).

``with fake_server("500") as url:`` serves ``url`` (``http://127.0.0.1:PORT/v1``) until the
block ends. Modes: ``ok`` (a valid completion), ``500`` (HTTP 500), ``400`` (HTTP 400),
``malformed`` (truncated JSON), ``shape`` (JSON of another shape: ``{"foo": 1}``),
``garbage`` (plain text), ``hang`` (never answers).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "500", "400", "malformed", "shape", "garbage", "hang")


def _handler(mode: str, stop: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # /v1/models
            self._send(200, json.dumps({"data": [{"id": "fake"}]}).encode())

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if mode == "hang":
                stop.wait(120)
                return
            if mode == "500":
                self._send(500, b'{"error": "boom"}')
            elif mode == "400":
                self._send(400, b'{"error": "bad request: unknown model"}')
            elif mode == "malformed":
                self._send(200, b'{"choices": [{"text": "unterminated')
            elif mode == "shape":
                self._send(200, b'{"foo": 1}')
            elif mode == "garbage":
                self._send(200, b"<html>hello</html>", "text/html")
            else:
                body = {"choices": [{"text": "x", "message": {"content": "x"}}],
                        "usage": {"completion_tokens": 1}}
                self._send(200, json.dumps(body).encode())

    return Handler


@contextmanager
def fake_server(mode: str) -> Iterator[str]:
    """Serve a fake OpenAI-compatible API in ``mode`` on a free local port; yield its URL."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} not in {MODES}")
    stop = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(mode, stop))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        time.sleep(0.01)
