#!/usr/bin/env python3
"""A demo webhook receiver for deploy/run-local.sh: prints each request it gets and checks its
Standard Webhooks signature (webhook-id, webhook-timestamp, webhook-signature) with the
secret in $HOOKRELAY_DEMO_SECRET, using only the Python standard library.

usage: demo_receiver.py PORT
"""
import base64
import hashlib
import hmac
import http.server
import os
import sys
import time

SECRET = os.environ.get("HOOKRELAY_DEMO_SECRET", "")


def verify(headers, body):
    if not SECRET.startswith("whsec_"):
        return "no secret configured"
    msg_id = headers.get("webhook-id", "")
    ts = headers.get("webhook-timestamp", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
        return "timestamp missing or more than 5 minutes off"
    key = base64.b64decode(SECRET[len("whsec_"):])
    signed = f"{msg_id}.{ts}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for sig in headers.get("webhook-signature", "").split():
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return None
    return "no signature matches"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        error = verify(self.headers, body)
        lines = [f"--- {self.command} {self.path}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        lines += ["", body.decode("utf-8", "replace")]
        lines.append("signature: VERIFIED" if error is None else f"signature: INVALID ({error})")
        print("\n".join(lines), flush=True)
        self.send_response(204 if error is None else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print(f"demo receiver listening on 127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
