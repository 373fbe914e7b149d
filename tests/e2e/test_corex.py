"""coreX (tiffin-corex, `tiffin run --corex`): the API and its authentication over loopback, and
an interactive container driven from headless Chromium through the page (puppeteer-core from
web/node_modules): a shell started from the index, a line typed into xterm.js and read back from
its buffer, `stty size` following the window, screenshots kept and checked, kill -9 shown on both
pages, and nothing left once the container is stopped and removed."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, SANITIZED, TIFFIN, needs_root, release_only
from engine import image, node, processes_with, wait_for  # noqa: F401 (fixtures)

COREX = str(Path(TIFFIN).parent / "tiffin-corex")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PUPPETEER = ROOT / "web" / "node_modules" / "puppeteer-core"
ARTIFACTS = Path(os.environ.get("TIFFIN_ARTIFACTS", "/tmp/tiffin-artifacts")) / "corex"

needs_browser = pytest.mark.skipif(not (os.path.exists(CHROMIUM) and shutil.which("node") and PUPPETEER.exists()),
                                   reason="needs Debian's chromium, node and web/node_modules (scripts/install-deps.sh)")


class Corex:
    """tiffin-corex on loopback, port chosen by the kernel."""

    def __init__(self, *args, token="s3cret-token", env=None):
        e = dict(os.environ, **(env or {}))
        if token is not None:
            e["COREX_TOKEN"] = token
        self.token = token
        self.proc = subprocess.Popen([COREX, "-p", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
        line = self.proc.stdout.readline().decode()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, f"coreX did not say where it listens: {line!r} {self.proc.stderr.read().decode() if self.proc.poll() is not None else ''}"
        self.port = int(m.group(1))

    def request(self, method, path, body=None, headers=None, auth=True):
        h = dict(headers or {})
        if auth:
            h["Authorization"] = f"Bearer {self.token}"
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def api(self, path, method="GET", body=None):
        status, _, data = self.request(method, path, body=json.dumps(body) if body is not None else None,
                                       headers={"Content-Type": "application/json"} if body is not None else None)
        return status, json.loads(data) if data.startswith(b"{") else data

    def processes(self):
        return {p["id"]: p for p in self.api("/api/processes")[1]["processes"]}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout=10)
        return self.proc.returncode


def ws_handshake(port, path, headers):
    """The status line of a WebSocket handshake (raw, so any header can be sent or left out)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", *headers]
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return s.recv(4096).decode(errors="replace").split("\r\n")[0]


def test_corex_api_auth_and_shutdown(tmp_path):
    cx = Corex("--", "sh", "-c", "echo started; exec sleep 1000")
    try:
        # Without credentials: refused (JSON for the API, the login page for a browser).
        assert cx.request("GET", "/api/processes", auth=False)[0] == 401
        status, headers, body = cx.request("GET", "/", auth=False, headers={"Accept": "text/html"})
        assert status == 401 and b"Authentication required" in body
        assert cx.request("GET", "/api/processes", auth=False, headers={"Authorization": "Bearer wrong"})[0] == 401
        # The static files hold no data: public.
        assert cx.request("GET", "/static/xterm.js", auth=False)[0] == 200
        # ?token= on a page: a cookie, and back to the page without it.
        status, headers, _ = cx.request("GET", "/?token=" + cx.token, auth=False)
        assert status == 303 and headers["Location"] == "/"
        cookie = headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert cx.request("GET", "/api/processes", auth=False, headers={"Cookie": cookie.split(";")[0]})[0] == 200

        procs = wait_for(lambda: [p for p in cx.processes().values() if p["state"] == "running"], what="the first process")
        assert procs[0]["command"] == "sh -c echo started; exec sleep 1000"
        wait_for(lambda: b"started" in cx.request("GET", f"/api/process/logs?id={procs[0]['id']}")[2], what="its output")

        # start by GET with arg[] and by POST with JSON; a process that exits.
        status, r = cx.api("/api/process/start?arg[]=sh&arg[]=-c&arg[]=echo%20bye%3B%20exit%203")
        assert status == 200 and r["status"] == "success" and r["pid"] > 0
        done = wait_for(lambda: cx.processes()[r["id"]]["state"] == "crashed" and cx.processes()[r["id"]], what="the exit")
        assert done["exit_code"] == 3
        status, r2 = cx.api("/api/process/start", "POST", {"args": ["sleep", "100"]})
        assert status == 200
        # bad ids, bad input, an exited process
        assert cx.api("/api/process/kill?id=999")[0] == 404
        assert cx.api("/api/process/kill?id=abc")[0] == 400
        assert cx.api("/api/process/stop")[0] == 400
        assert cx.api(f"/api/process/kill?id={r2['id']}&signal=NOPE")[0] == 400
        assert cx.api(f"/api/process/kill?id={r['id']}")[0] == 409
        assert cx.api("/api/process/start?arg[]=/no/such/program")[0] == 400
        assert cx.api("/api/nothing")[0] == 404
        assert cx.api("/api/processes", "POST", {})[0] == 405
        # kill with a signal name, then clean forgets the exited ones
        assert cx.api("/api/process/kill", "POST", {"id": r2["id"], "signal": "SIGKILL"})[0] == 200
        wait_for(lambda: cx.processes()[r2["id"]]["signal"] == 9, what="the kill")
        status, cleaned = cx.api("/api/process/clean", "POST", {})
        assert cleaned["removed"] == 2 and set(cx.processes()) == {procs[0]["id"]}

        # WebSocket: auth, origin and subprotocol checked before the upgrade.
        pid = procs[0]["id"]
        auth = f"Authorization: Bearer {cx.token}"
        assert " 101 " in ws_handshake(cx.port, f"/ws/{pid}", [auth, "Sec-WebSocket-Protocol: tty"])
        assert " 401 " in ws_handshake(cx.port, f"/ws/{pid}", ["Sec-WebSocket-Protocol: tty"])
        assert " 403 " in ws_handshake(cx.port, f"/ws/{pid}", [auth, "Origin: http://evil.example"])
        assert " 101 " in ws_handshake(cx.port, f"/ws/{pid}", [auth, f"Origin: http://127.0.0.1:{cx.port}"])
        assert " 404 " in ws_handshake(cx.port, "/ws/999", [auth])
        assert " 101 " in ws_handshake(cx.port, f"/ws/{pid}?token={cx.token}", [])
    finally:
        code = cx.stop()
    # SIGTERM: every process goes, coreX exits 0.
    assert code == 0
    assert not processes_with("exec sleep 1000") and not [p for p in processes_with("sleep 1000")]


def test_corex_refuses_to_serve_without_credentials():
    p = subprocess.run([COREX, "-p", "0"], capture_output=True, env={k: v for k, v in os.environ.items() if k != "COREX_TOKEN"},
                       timeout=10)
    assert p.returncode == 2 and b"no credentials" in p.stderr
    p = subprocess.run([COREX, "--interface", "no-such-if0"], capture_output=True, env=dict(os.environ, COREX_TOKEN="x"), timeout=20)
    assert p.returncode == 1 and b"no interface no-such-if0" in p.stderr


def test_corex_basic_credentials():
    cx = Corex("-c", "alice:pa:ss", token=None)
    try:
        import base64
        good = base64.b64encode(b"alice:pa:ss").decode()
        bad = base64.b64encode(b"alice:nope").decode()
        assert cx.request("GET", "/api/processes", auth=False, headers={"Authorization": f"Basic {good}"})[0] == 200
        status, headers, _ = cx.request("GET", "/api/processes", auth=False, headers={"Authorization": f"Basic {bad}"})
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
    finally:
        assert cx.stop() == 0


def test_corex_forged_requests_do_not_act():
    """What another site's page can make a browser send (the cookie, cached Basic credentials, no
    token of its own) starts nothing; corex's clients' GET with the token still does."""
    import base64
    cx = Corex("-c", "alice:pass")
    try:
        basic = {"Authorization": "Basic " + base64.b64encode(b"alice:pass").decode()}
        cookie = {"Cookie": f"corex_token={cx.token}"}
        start = "/api/process/start?arg[]=sleep&arg[]=100"
        assert cx.request("HEAD", start)[0] == 405
        assert cx.request("GET", start, auth=False, headers=cookie)[0] == 403
        assert cx.request("GET", start, auth=False, headers=basic)[0] == 403
        assert cx.request("POST", start, auth=False, headers={**cookie, "Sec-Fetch-Site": "same-site"})[0] == 403
        assert cx.request("GET", start, headers={"Sec-Fetch-Site": "cross-site"})[0] == 403
        assert cx.processes() == {}
        assert cx.request("GET", start)[0] == 200                                     # Bearer
        assert cx.request("GET", start + f"&token={cx.token}", auth=False)[0] == 200  # ?token=
        assert cx.request("POST", start, auth=False, headers=basic)[0] == 200         # curl -u
        assert len(cx.processes()) == 3
    finally:
        assert cx.stop() == 0


def test_corex_sigterm_with_a_terminal_attached():
    """The WebSocket sessions still open at SIGTERM end with the loop, after the process table:
    coreX exits 0 and says nothing on stderr."""
    cx = Corex("--", "sh")
    try:
        wait_for(lambda: cx.processes(), what="the shell")
        with socket.create_connection(("127.0.0.1", cx.port), timeout=5) as s:
            lines = ["GET /ws/1 HTTP/1.1", f"Host: 127.0.0.1:{cx.port}", "Upgrade: websocket", "Connection: Upgrade",
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: tty",
                     f"Authorization: Bearer {cx.token}"]
            s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            assert " 101 " in s.recv(4096).decode(errors="replace").split("\r\n")[0]
            cx.proc.send_signal(signal.SIGTERM)
            assert cx.proc.wait(timeout=10) == 0
    finally:
        cx.stop()
    assert cx.proc.stderr.read() == b""


# A sanitizer build links tiffin-corex dynamically (its runtimes need it), and a container's image
# has neither those libraries nor the host's loader: coreX runs inside containers only when it is
# the release build's static binary.
static_corex_only = pytest.mark.skipif(SANITIZED, reason="tiffin-corex is dynamic in a sanitizer build and cannot run inside a container")


@needs_root
@static_corex_only
def test_corex_token_printed_on_start_attached(node, image):
    """`start -a` of a --corex container prints the token it made, before coreX's output; that
    token is the one coreX takes (the one from the run before no longer is)."""
    p = node("create", "--corex", "--name", "cxa", image)
    assert "token" not in p.stderr.decode()  # create starts nothing, makes no token
    node("start", "cxa")  # the token of this run is not the one start -a makes below
    first = re.search(r"\?token=([0-9a-f]{64})", node("restart", "-t", "1", "cxa").stderr.decode())
    assert first, "restart printed no token"
    node("stop", "-t", "1", "cxa")
    a = subprocess.Popen([TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "--dns-upstream", node.dns_upstream,
                          "start", "-a", "cxa"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        import select
        ready, _, _ = select.select([a.stderr], [], [], 15)
        line = a.stderr.readline().decode() if ready else ""
        m = re.search(r"coreX: http://(\d+\.\d+\.\d+\.\d+):7681/\?token=([0-9a-f]{64})", line)
        assert m, line
        addr, token = m.group(1), m.group(2)
        assert token != first.group(1)

        def status(t):
            try:
                c = http.client.HTTPConnection(addr, 7681, timeout=1)
                c.request("GET", "/api/processes", headers={"Authorization": f"Bearer {t}"})
                return c.getresponse().status
            except OSError:
                return None
        wait_for(lambda: status(token) == 200, timeout=15, what="coreX with the printed token")
        assert status(first.group(1)) == 401
    finally:
        node("stop", "-t", "1", "cxa")
        a.wait(timeout=20)
    node("rm", "cxa")


def bright_pixels(png, box=None):
    from PIL import Image  # Debian's python3-pil
    img = Image.open(png).convert("L")
    if box:
        img = img.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"])))
    hist = img.histogram()
    return sum(hist[140:]), img.size


@needs_root
@needs_browser
@release_only
def test_interactive_container_in_a_browser(node, image, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    p = node("run", "-d", "--corex", "--name", "cx", "-p", "127.0.0.1::7681", image)
    cid = p.stdout.decode().strip()
    notice = p.stderr.decode()
    m = re.search(r"coreX: (http://(\d+\.\d+\.\d+\.\d+):7681/)\?token=([0-9a-f]{64})", notice)
    assert m, notice
    base, addr, token = m.group(1).rstrip("/"), m.group(2), m.group(3)

    def answers():
        try:
            c = http.client.HTTPConnection(addr, 7681, timeout=1)
            c.request("GET", "/api/processes", headers={"Authorization": f"Bearer {token}"})
            return c.getresponse().status == 200
        except OSError:
            return False
    wait_for(answers, timeout=15, what="coreX in the container")
    print(f"run --corex to the API answering: {time.monotonic() - t0:.3f} s")

    info = node.inspect("cx")
    assert info["Path"] == "/corex" and info["Args"] == ["--ipv6", "-d", "7", "--interface", "eth0"]
    assert f"http://{addr}:7681/" in info["TiffinCorex"]["URLs"]
    assert any(u.startswith("http://127.0.0.1:") for u in info["TiffinCorex"]["URLs"])
    # The token is in no file of the node.
    for d in (node.root, node.run_root):
        for f in Path(d).rglob("*"):
            if f.is_file() and not f.is_symlink() and "rootfs" not in f.parts and f.stat().st_size < 4 << 20:
                try:
                    data = f.read_bytes()
                except OSError:  # a namespace's bind mount
                    continue
                assert token.encode() not in data, f"the token is in {f}"
    # Nor in the environment of what coreX starts (it wiped its own copy too).
    pid1 = info["State"]["Pid"]
    assert token.encode() not in Path(f"/proc/{pid1}/environ").read_bytes()

    r = subprocess.run(["node", str(ROOT / "tests" / "e2e" / "corex_browser.cjs"), base, token, str(ARTIFACTS)],
                       capture_output=True, timeout=120, env=dict(os.environ, COREX_SHELL="sh", CHROMIUM=CHROMIUM))
    assert r.returncode == 0, r.stderr.decode()
    out = json.loads(r.stdout.decode().strip().splitlines()[-1])
    assert out["ok"], out.get("error")
    assert out["index_url"] == base + "/"  # the token moved into a cookie
    assert re.fullmatch(r"hi-\d+", out["echo"])
    assert out["stty_before"] == f"{out['term_before'][0]} {out['term_before'][1]}"
    assert out["stty_after"] == f"{out['term_after'][0]} {out['term_after'][1]}"
    assert out["term_after"][1] < out["term_before"][1] and out["term_after"][0] < out["term_before"][0]
    assert out["index_row_after_kill"] == "exited (signal 9)"
    assert out["terminal_after_kill"] == "exited: signal 9"
    # Screenshots: not blank; the terminal's has text where the terminal is.
    for name in ("terminal", "index", "index_after_kill"):
        assert Path(out["screenshots"][name]).stat().st_size > 5000
    lit, _ = bright_pixels(out["screenshots"]["index"])
    assert lit > 2000, "the index screenshot looks blank"
    lit, size = bright_pixels(out["screenshots"]["terminal"], out["terminal_box"])
    assert lit > 500, f"no text in the terminal's screenshot ({lit} lit pixels of {size})"

    node("stop", "cx")
    assert not processes_with("/corex")
    node("rm", "cx")
    assert cid not in node.container_ids()
