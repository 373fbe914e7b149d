"""A real registry for the tests: Debian's docker-registry (Distribution 2.8) on a loopback port
with its storage in a temp dir, optionally behind htpasswd basic auth; images pushed with
skopeo from OCI layouts (ociimage.py)."""
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port


def htpasswd_line(user, password):
    """A bcrypt htpasswd line (the registry accepts only bcrypt; Debian's libxcrypt makes it)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        return f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n"


class Registry:
    def __init__(self, tmp: Path, users=None):
        self.dir = tmp
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.users = users or {}
        lines = ["version: 0.1", "log:", "  level: info", "storage:", "  filesystem:",
                 f"    rootdirectory: {self.dir / 'data'}", "  delete:", "    enabled: true",
                 "http:", f"  addr: {self.host}"]
        if self.users:
            (self.dir / "htpasswd").write_text("".join(htpasswd_line(u, p) for u, p in self.users.items()))
            lines += ["auth:", "  htpasswd:", "    realm: test", f"    path: {self.dir / 'htpasswd'}"]
        (self.dir / "config.yml").write_text("\n".join(lines) + "\n")
        self.log = open(self.dir / "registry.log", "w")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.dir / "config.yml")], stdout=self.log, stderr=self.log)
        deadline = time.time() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # 401: up, asking for auth
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("the registry did not start: " + (self.dir / "registry.log").read_text())
                time.sleep(0.05)

    def push(self, layout_dir, tag, name, user=None):
        """skopeo copy oci:<layout>:<tag> docker://<this registry>/<name>."""
        argv = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--all"]
        if user:
            argv += ["--dest-creds", f"{user}:{self.users[user]}"]
        subprocess.run(argv + [f"oci:{layout_dir}:{tag}", f"docker://{self.host}/{name}"], check=True, capture_output=True)
        return f"{self.host}/{name}"

    def blob_path(self, digest):
        hexd = digest.split(":", 1)[1]
        return self.dir / "data/docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def registry(tmp_path):
    """A registry without auth, for one test."""
    r = Registry(tmp_path / "registry")
    yield r
    r.stop()


class SlowProxy:
    """An HTTP proxy of the test's own on 127.0.0.1 in front of a registry (a thread): forwards
    each request as it is and, while `throttle` is set, sends blob bodies slowly (`rate` bytes a
    second), so a pull is under way for a few seconds. `blob_bytes_sent` counts what went out."""

    def __init__(self, upstream: str, rate=256 << 10):
        import http.client
        import http.server
        import threading
        self.upstream, self.rate, self.throttle = upstream, rate, True
        self.blob_started = threading.Event()
        self.blob_bytes_sent = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                res = conn.getresponse()
                data_len = res.getheader("Content-Length")
                self.send_response(res.status, res.reason)
                for k, v in res.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding"):
                        self.send_header(k, v)
                if data_len is None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                slow = proxy.throttle and "/blobs/" in self.path and self.command == "GET"
                try:
                    while self.command != "HEAD":
                        chunk = res.read(16384 if slow else 1 << 20)
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        if slow:
                            proxy.blob_bytes_sent += len(chunk)
                            proxy.blob_started.set()
                            self.wfile.flush()
                            time.sleep(len(chunk) / proxy.rate)
                except OSError:
                    self.close_connection = True  # the client left (a killed pull)
                finally:
                    conn.close()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
