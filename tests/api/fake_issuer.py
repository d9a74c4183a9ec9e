"""An OpenID provider's public endpoints on 127.0.0.1 that a test controls.

It serves the discovery document and the JWKS, counts every request, and can be switched
to fail (500) or to hang: a hung request blocks until the test releases it, so a test
decides by what it observes (how many requests arrived, how many still hang), never by time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


class FakeIssuer:
    """Discovery at ``/.well-known/openid-configuration``, keys at ``/certs``."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.mode = "up"  # up | down | hang
        self.discovered_issuer: str | None = None  # None: the issuer's own URL
        self.requests: dict[str, int] = {}
        self.hanging = 0
        self.released = threading.Event()
        self._changed = threading.Condition()
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer._arrived(self.path)
                if issuer.mode == "hang":
                    issuer._hang()
                if issuer.mode == "down":
                    self.send_error(500)
                    return
                if self.path.endswith("/.well-known/openid-configuration"):
                    document: Any = {
                        "issuer": issuer.discovered_issuer or issuer.url,
                        "jwks_uri": issuer.jwks_url,
                    }
                elif self.path.endswith("/certs"):
                    document = {"keys": issuer.keys}
                else:
                    self.send_error(404)
                    return
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/realms/vorgang"
        self.jwks_url = f"{self.url}/certs"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def publish(self, kid: str, public_key: Any) -> None:
        """Add a signing key to the JWKS."""
        algorithm = RSAAlgorithm if isinstance(public_key, rsa.RSAPublicKey) else ECAlgorithm
        jwk = json.loads(algorithm.to_jwk(public_key))
        self.keys.append({**jwk, "kid": kid, "use": "sig", "alg": jwk.get("alg")})

    def withdraw(self, kid: str) -> None:
        """Remove a key from the JWKS (revocation)."""
        self.keys = [k for k in self.keys if k["kid"] != kid]

    def fetches(self, suffix: str = "/certs") -> int:
        """How many requests for paths ending in ``suffix`` arrived so far."""
        with self._changed:
            return sum(n for path, n in self.requests.items() if path.endswith(suffix))

    def wait_until(self, predicate: Any, guard: float = 60.0) -> None:
        """Block until ``predicate(self)`` holds; the guard only stops a broken test hanging."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout=guard):
                raise AssertionError("the fake issuer never reached the expected state")

    def _arrived(self, path: str) -> None:
        with self._changed:
            self.requests[path] = self.requests.get(path, 0) + 1
            self._changed.notify_all()

    def _hang(self) -> None:
        with self._changed:
            self.hanging += 1
            self._changed.notify_all()
        self.released.wait()
        with self._changed:
            self.hanging -= 1
            self._changed.notify_all()


@contextmanager
def fake_issuer() -> Iterator[FakeIssuer]:
    """A running fake issuer, shut down (and every hung request released) at the end."""
    issuer = FakeIssuer()
    try:
        yield issuer
    finally:
        issuer.released.set()
        issuer.server.shutdown()
        issuer.server.server_close()
