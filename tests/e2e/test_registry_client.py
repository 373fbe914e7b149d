"""The registry client (src/image) and `tiffin login`/`logout` against Distribution's own registry
(Debian's docker-registry, 2.8) on 127.0.0.1: without auth, with htpasswd (basic) auth, and with
token auth served by a small token server in this file (ES256 JWTs whose x5c header carries the
certificate the registry trusts). Images are made offline with umoci from busybox and pushed
with skopeo. The client's own checks are the gtest binary tiffin_image_tests (RegistryLive.*),
pointed at the registry through REGISTRY_TEST_* variables.
"""
import base64
import errno
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
import warnings
from pathlib import Path

import pytest

from conftest import ROOT, TIFFIN, free_port, wait_port

TIFFIN_FULL = os.environ.get("TIFFIN_FULL_BIN", str(Path(TIFFIN).parent / "tiffin-full"))
# Beside the tiffin under test (build/apps/tiffin → build/tests/tiffin_image_tests).
IMAGE_TESTS = os.environ.get("TIFFIN_IMAGE_TESTS", str(Path(os.environ.get("TIFFIN_BIN", ROOT / "build/apps/tiffin")).parent.parent / "tests" / "tiffin_image_tests"))
USER, PASSWORD = "alice", "correct horse"

pytestmark = pytest.mark.skipif(
    not all(shutil.which(p) for p in ("docker-registry", "skopeo", "umoci", "openssl")) or not Path(IMAGE_TESTS).exists(),
    reason="needs docker-registry, skopeo, umoci, openssl and tiffin_image_tests")


def run(*argv, env=None, input=None, check=True):
    p = subprocess.run([str(a) for a in argv], capture_output=True, env=env, input=input, timeout=300)
    if check:
        assert p.returncode == 0, f"{argv} exited {p.returncode}\nstdout: {p.stdout.decode()}\nstderr: {p.stderr.decode()}"
    return p


@pytest.fixture(scope="module")
def oci_layout(tmp_path_factory):
    """An OCI layout with one image, busybox:latest: /bin/busybox and /bin/sh, a config with an
    entrypoint, env and a port."""
    d = tmp_path_factory.mktemp("oci")
    layout, bundle = d / "layout", d / "bundle"
    run("umoci", "init", "--layout", layout)
    run("umoci", "new", "--image", f"{layout}:busybox")
    run("umoci", "unpack", "--rootless", "--image", f"{layout}:busybox", bundle)
    (bundle / "rootfs" / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy("/bin/busybox", bundle / "rootfs" / "bin" / "busybox")
    os.symlink("busybox", bundle / "rootfs" / "bin" / "sh")
    run("umoci", "repack", "--image", f"{layout}:busybox", bundle)
    run("umoci", "config", "--image", f"{layout}:busybox", "--config.entrypoint", "/bin/sh", "--config.env", "A=b",
        "--config.exposedports", "80/tcp")
    yield layout
    shutil.rmtree(d, ignore_errors=True)


class Registry:
    def __init__(self, root, auth=None):
        self.root, self.port = Path(root), free_port()
        self.data = self.root / "data"
        self.proc = None
        self.root.mkdir(parents=True, exist_ok=True)
        lines = ["version: 0.1", "log:", "  level: warn", "storage:", "  filesystem:", f"    rootdirectory: {self.data}",
                 "  delete:", "    enabled: true", "http:", f"  addr: 127.0.0.1:{self.port}"]
        if auth:
            lines += ["auth:"] + ["  " + line for line in auth]
        (self.root / "config.yml").write_text("\n".join(lines) + "\n")

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.log = open(self.root / "registry.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.root / "config.yml")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(self.port)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            self.log.close()

    def push(self, layout, dest, creds=None):
        argv = ["skopeo", "copy", "--dest-tls-verify=false"]
        if creds:
            argv += ["--dest-creds", f"{creds[0]}:{creds[1]}"]
        run(*argv, f"oci:{layout}:busybox", f"docker://{self.host}/{dest}")

    def blob_file(self, digest):
        hexd = digest.split(":", 1)[1]
        return self.data / "docker" / "registry" / "v2" / "blobs" / "sha256" / hexd[:2] / hexd / "data"


def htpasswd_line(user, password):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # bcrypt through libxcrypt; Distribution accepts only bcrypt
        # Cost 4 (rounds=16): the registry checks the password on every request.
        return f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))}\n"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Docker's token protocol: GET /token?service=&scope=… with basic auth → {"token", "expires_in"}.
    Anyone with the right password gets every action asked for; wrong or no credentials get 401."""

    def __init__(self, root):
        self.root, self.port = Path(root), free_port()
        self.key, self.cert = self.root / "token.key", self.root / "token.crt"
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", self.key)
        run("openssl", "req", "-new", "-x509", "-key", self.key, "-out", self.cert, "-days", "2", "-subj", "/CN=tiffin-test-token")
        der = run("openssl", "x509", "-in", self.cert, "-outform", "DER").stdout
        self.x5c = base64.b64encode(der).decode()
        self.requests = []
        self.server = None

    def sign(self, claims):
        header = {"typ": "JWT", "alg": "ES256", "x5c": [self.x5c]}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        der = run("openssl", "dgst", "-sha256", "-sign", self.key, input=signing_input.encode()).stdout
        return signing_input + "." + b64url(der_to_raw(der))

    def start(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                from urllib.parse import parse_qs, urlparse
                q = parse_qs(urlparse(self.path).query)
                auth = self.headers.get("Authorization", "")
                outer.requests.append((self.path, auth))
                want = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if auth != want:
                    self.send_response(401)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
                    return
                access = []
                for scope in q.get("scope", []):
                    kind, _, rest = scope.partition(":")
                    name, _, actions = rest.rpartition(":")
                    access.append({"type": kind, "name": name, "actions": actions.split(",")})
                now = int(time.time())
                token = outer.sign({"iss": "test", "sub": USER, "aud": "test", "exp": now + 300, "nbf": now - 10, "iat": now,
                                    "jti": os.urandom(8).hex(), "access": access})
                body = json.dumps({"token": token, "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def der_to_raw(der):
    """An ECDSA signature from DER (SEQUENCE { r, s }) to JWS's r‖s of 32 bytes each."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7f)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        out += der[i + 2:i + 2 + n].lstrip(b"\0").rjust(32, b"\0")
        i += 2 + n
    return out


@pytest.fixture
def registries(tmp_path):
    started = []

    def start(auth=None):
        r = Registry(tmp_path / f"registry{len(started)}", auth)
        started.append(r)
        return r.start()

    yield start
    for r in started:
        r.stop()


@pytest.fixture
def token_server(tmp_path):
    t = TokenServer(tmp_path)
    yield t.start()
    t.stop()


def clean_env(home):
    """HOME in the test's directory, none of the user's credentials files."""
    env = {k: v for k, v in os.environ.items() if k not in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "DOCKER_CONFIG")}
    env["HOME"] = str(home)
    return env


def live_tests(registry, repo, home, creds=None, only="RegistryLive.*:-RegistryLive.DetectsCorrupt*", extra=None):
    env = clean_env(home)
    env["REGISTRY_TEST_IMAGE"] = f"{registry.host}/{repo}"
    if creds:
        env["REGISTRY_TEST_USER"], env["REGISTRY_TEST_PASS"] = creds
    env.update(extra or {})
    p = run(IMAGE_TESTS, f"--gtest_filter={only}", env=env, check=False)
    out = p.stdout.decode()
    assert p.returncode == 0, out[-6000:] + p.stderr.decode()[-2000:]
    assert "[  PASSED  ]" in out and "SKIPPED" not in out, out


def manifest_of(registry, repo, tag):
    out = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{registry.host}/{repo}:{tag}"],
                         capture_output=True, check=True, timeout=60).stdout
    return json.loads(out)


def test_client_without_auth_and_corrupt_blob_and_manifest(registries, oci_layout, tmp_path):
    reg = registries()
    reg.push(oci_layout, "test/busybox:latest")
    live_tests(reg, "test/busybox:latest", tmp_path)
    # A byte changed in the registry's storage: the download is refused, naming the digest.
    layer = manifest_of(reg, "test/busybox", "latest")["layers"][0]["digest"]
    f = reg.blob_file(layer)
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xff
    f.write_bytes(bytes(data))
    live_tests(reg, "test/busybox:latest", tmp_path, only="RegistryLive.DetectsCorruptBlob",
               extra={"REGISTRY_TEST_CORRUPT": "test/busybox:latest"})
    # The manifest's stored bytes changed (still valid JSON): refused by digest and by tag.
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{reg.host}/test/busybox:latest"],
                         capture_output=True, check=True, timeout=60).stdout
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    f = reg.blob_file(digest)
    assert f.read_bytes() == raw
    f.write_bytes(raw.replace(b'"schemaVersion":', b'"schemaVersion": ', 1))
    live_tests(reg, "test/busybox:latest", tmp_path, only="RegistryLive.DetectsCorruptManifest",
               extra={"REGISTRY_TEST_CORRUPT_MANIFEST": f"test/busybox:latest@{digest}"})


def test_login_and_client_with_basic_auth(registries, oci_layout, tmp_path):
    (tmp_path / "htpasswd").write_text(htpasswd_line(USER, PASSWORD))
    reg = registries(["htpasswd:", "  realm: tiffin-test", f"  path: {tmp_path / 'htpasswd'}"])
    reg.push(oci_layout, "test/busybox:latest", creds=(USER, PASSWORD))
    live_tests(reg, "test/busybox:latest", tmp_path, creds=(USER, PASSWORD))
    check_login_flow(reg, tmp_path)


def test_login_and_client_with_token_auth(registries, token_server, oci_layout, tmp_path):
    reg = registries(["token:", f"  realm: http://127.0.0.1:{token_server.port}/token", "  service: test", "  issuer: test",
                      f"  rootcertbundle: {token_server.cert}"])
    reg.push(oci_layout, "test/busybox:latest", creds=(USER, PASSWORD))
    live_tests(reg, "test/busybox:latest", tmp_path, creds=(USER, PASSWORD))
    # Scopes were asked for (pull, and pull,push for uploads), with basic auth.
    scopes = [path for path, _ in token_server.requests if "scope=" in path]
    assert any("repository%3Atest%2Fbusybox%3Apull" in s for s in scopes), scopes
    assert any("pull%2Cpush" in s for s in scopes), scopes
    check_login_flow(reg, tmp_path)


def check_login_flow(reg, tmp_path):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = clean_env(home)
    config = home / ".docker" / "config.json"

    wrong = run(TIFFIN_FULL, "login", "-u", USER, "--password-stdin", reg.host, env=env, input=b"wrong\n", check=False)
    assert wrong.returncode == 2, wrong.stderr.decode()
    assert "authentication failed" in wrong.stderr.decode(), wrong.stderr.decode()
    assert not config.exists()

    ok = run(TIFFIN_FULL, "login", "-u", USER, "--password-stdin", reg.host, env=env, input=(PASSWORD + "\n").encode())
    assert "Login Succeeded" in ok.stdout.decode()
    assert config.stat().st_mode & 0o777 == 0o600
    auths = json.loads(config.read_text())["auths"]
    assert base64.b64decode(auths[reg.host]["auth"]).decode() == f"{USER}:{PASSWORD}"

    # The stored credentials are what the client uses when it is given none.
    live_tests(reg, "test/busybox:latest", home, only="RegistryLive.PullsManifestConfigAndLayers")

    # -p works too (with docker's warning); the lean tiffin hands login to tiffin-full.
    p = run(TIFFIN, "login", "-u", USER, "-p", PASSWORD, reg.host, env=env)
    assert "insecure" in p.stderr.decode()

    out = run(TIFFIN_FULL, "logout", reg.host, env=env)
    assert reg.host in out.stdout.decode()
    assert reg.host not in json.loads(config.read_text()).get("auths", {})
    again = run(TIFFIN_FULL, "logout", reg.host, env=env)
    assert "Not logged in" in again.stderr.decode()

    bad = run(TIFFIN_FULL, "login", "-u", USER, "--password-stdin", "Not A Host!", env=env, input=b"x", check=False)
    assert bad.returncode == 2 and "invalid registry" in bad.stderr.decode()


class FakeRegistry:
    """Just enough of a registry for what Distribution's filesystem driver never does: a bearer
    challenge answered by an anonymous token, a 503 once, and a blob redirected to storage on
    another host (127.0.0.2) whose first transfer breaks half way. The storage records the
    headers it got."""

    def __init__(self, blob):
        self.blob = blob
        self.digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        self.port, self.storage_port = free_port(), free_port()
        self.storage_requests = []
        self.servers = []
        self.unavailable_once = True
        self.uploads = []
        self.token_forms = []
        self.ignore_range = False

    def start(self):
        outer = self

        class Api(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, headers=(), body=b""):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def authorized(self):
                if self.headers.get("Authorization") == "Bearer tok123":
                    return True
                challenge = f'Bearer realm="http://127.0.0.1:{outer.port}/token",service="fake",scope="repository:fake/blob:pull"'
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                del body
                self.reply(401, [("WWW-Authenticate", challenge), ("Content-Type", "application/json")],
                           b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')
                return False

            def do_GET(self):
                if self.path.startswith("/token"):
                    return self.reply(200, [("Content-Type", "application/json")], b'{"access_token":"tok123","expires_in":300}')
                if not self.authorized():
                    return
                if self.path == "/v2/":
                    return self.reply(200, [("Content-Type", "application/json")], b"{}")
                if self.path == f"/v2/fake/blob/blobs/{outer.digest}":
                    if outer.unavailable_once:  # a passing hiccup: retried
                        outer.unavailable_once = False
                        return self.reply(503, [("Content-Type", "application/json")], b'{"errors":[{"code":"UNAVAILABLE"}]}')
                    return self.reply(307, [("Location", f"http://127.0.0.2:{outer.storage_port}/data")])
                self.reply(404, [("Content-Type", "application/json")], b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')

            def do_HEAD(self):
                if self.authorized():
                    self.reply(404)

            # Uploads with a relative Location (the spec allows it; Distribution sends absolute ones).
            def do_POST(self):
                if self.path == "/token":  # OAuth2's refresh-token grant (identity tokens)
                    from urllib.parse import parse_qs
                    form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
                    outer.token_forms.append(form)
                    if form.get("grant_type") == ["refresh_token"] and form.get("refresh_token") == ["id-tok"]:
                        return self.reply(200, [("Content-Type", "application/json")], b'{"access_token":"tok123","expires_in":300}')
                    return self.reply(401, [("Content-Type", "application/json")], b'{"errors":[{"message":"bad refresh token"}]}')
                if not self.authorized():
                    return
                if self.path == "/v2/fake/blob/blobs/uploads/":
                    return self.reply(202, [("Location", "/uploads/u1?_state=s")])
                self.reply(404)

            def do_PUT(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Authorization") != "Bearer tok123":
                    return self.reply(401)
                from urllib.parse import parse_qs, urlparse
                u = urlparse(self.path)
                digest = parse_qs(u.query).get("digest", [""])[0]
                outer.uploads.append((u.path, parse_qs(u.query).get("_state", [""])[0], digest, body))
                ok = u.path == "/uploads/u1" and digest == "sha256:" + hashlib.sha256(body).hexdigest()
                self.reply(201 if ok else 400)

        class Storage(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.storage_requests.append(dict(self.headers))
                rng = self.headers.get("Range")
                if rng is None:
                    # Announces the whole blob, sends half, hangs up.
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(outer.blob)))
                    self.end_headers()
                    self.wfile.write(outer.blob[:len(outer.blob) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if outer.ignore_range:  # allowed by HTTP: the whole blob again, 200
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(outer.blob)))
                    self.end_headers()
                    self.wfile.write(outer.blob)
                    return
                start = int(rng.split("=")[1].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(outer.blob) - 1}/{len(outer.blob)}")
                self.send_header("Content-Length", str(len(outer.blob) - start))
                self.end_headers()
                self.wfile.write(outer.blob[start:])

        # free_port's port is free when it answers, not always when it is bound: another socket of
        # the machine may take it in between (EADDRINUSE, seen once in CI). Then new ports.
        for attempt in range(5):
            bound = []
            try:
                for handler, addr in ((Api, ("127.0.0.1", self.port)), (Storage, ("127.0.0.2", self.storage_port))):
                    bound.append(http.server.ThreadingHTTPServer(addr, handler))
                break
            except OSError as e:
                for s in bound:
                    s.server_close()
                if e.errno != errno.EADDRINUSE or attempt == 4:
                    raise
                self.port, self.storage_port = free_port(), free_port()
        for s in bound:
            threading.Thread(target=s.serve_forever, daemon=True).start()
            self.servers.append(s)
        return self

    def stop(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()


@pytest.fixture
def fake_registry():
    f = FakeRegistry(os.urandom(3 << 20)).start()
    yield f
    f.stop()


@pytest.mark.parametrize("ignore_range", [False, True])
def test_redirected_blob_keeps_token_and_resumes(fake_registry, tmp_path, ignore_range):
    fake_registry.ignore_range = ignore_range
    env = clean_env(tmp_path)
    env.update({"REGISTRY_FAKE": f"127.0.0.1:{fake_registry.port}", "REGISTRY_FAKE_DIGEST": fake_registry.digest,
                "REGISTRY_FAKE_SIZE": str(len(fake_registry.blob))})
    p = run(IMAGE_TESTS, "--gtest_filter=RegistryFake.RedirectedBlobResumes", env=env, check=False)
    out = p.stdout.decode()
    assert p.returncode == 0 and "[  PASSED  ] 1 test" in out, out[-4000:]
    reqs = fake_registry.storage_requests
    assert len(reqs) == 2, reqs
    assert "Range" not in reqs[0] and reqs[1]["Range"] == f"bytes={len(fake_registry.blob) // 2}-", reqs
    # The registry's token never reaches the storage it redirects to.
    assert not any("Authorization" in r for r in reqs), reqs
    assert not fake_registry.unavailable_once


def test_upload_follows_a_relative_location(fake_registry, tmp_path):
    env = clean_env(tmp_path)
    env["REGISTRY_FAKE"] = f"127.0.0.1:{fake_registry.port}"
    p = run(IMAGE_TESTS, "--gtest_filter=RegistryFake.UploadFollowsRelativeLocation", env=env, check=False)
    out = p.stdout.decode()
    assert p.returncode == 0 and "[  PASSED  ] 1 test" in out, out[-4000:]
    assert len(fake_registry.uploads) == 1, fake_registry.uploads
    path, state, digest, body = fake_registry.uploads[0]
    assert (path, state, len(body)) == ("/uploads/u1", "s", 1000)


def test_identity_token_is_a_refresh_token(fake_registry, tmp_path):
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    host = f"127.0.0.1:{fake_registry.port}"
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {host: {"auth": "", "identitytoken": "id-tok"}}}))
    env = clean_env(home)
    env["REGISTRY_FAKE"] = host
    p = run(IMAGE_TESTS, "--gtest_filter=RegistryFake.StoredIdentityToken", env=env, check=False)
    assert p.returncode == 0 and "[  PASSED  ] 1 test" in p.stdout.decode(), p.stdout.decode()[-4000:]
    assert fake_registry.token_forms and fake_registry.token_forms[0]["service"] == ["fake"], fake_registry.token_forms
