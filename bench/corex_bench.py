#!/usr/bin/env python3
"""coreX against the web terminals people use instead, in one run (issue 19's measurements):

  keystroke   one key sent, its echo received (the terminal's own echo, through the server and
              the pty): p50/p99 over --keys keys, for tiffin-corex (WebSocket, "tty"), wetty
              (npm; socket.io over a WebSocket) and shellinabox (Debian; HTTP long polling),
              each serving the same shell (/bin/sh) on loopback
  memory      each server's resident memory (its own processes, not the shells) idle with 5
              terminals attached
  start       `tiffin run -d --corex IMAGE` until its API answers (needs root: an engine of its
              own, a busybox image, the container's bridge address)

Medians of --runs runs; ratios are peer / coreX. Everything it starts it stops. Loopback only
(and the bridge of the containers it makes).
"""
import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
BUILD = Path(os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))).parent
COREX = str(BUILD / "tiffin-corex")
WETTY = ROOT / "bench" / "peers" / "node_modules" / ".bin" / "wetty"
SHELL = "/bin/sh"
TOKEN = "bench-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, path="/", timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", path)
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing answers on port {port}")


class WebSocket:
    """The client side of RFC 6455, enough for these servers: text/binary frames, masking."""

    def __init__(self, port, path, headers=(), protocol=None):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", *headers]
        if protocol:
            lines.append(f"Sec-WebSocket-Protocol: {protocol}")
        self.s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.s.recv(4096)
            if not chunk:
                raise EOFError(f"{path}: the server closed the connection: {head[:200]!r}")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n")[0], head

    def send(self, data, text=True):
        if isinstance(data, str):
            data = data.encode()
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x81 if text else 0x82])
        hdr += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk

    def recv(self):
        self._need(2)
        op, n = self.buf[0] & 0x0F, self.buf[1] & 0x7F
        off = 2
        if n == 126:
            self._need(4)
            n, off = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
        self._need(off + n)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        if op == 8:
            raise EOFError
        return payload

    def close(self):
        self.s.close()


# ---- the three servers: each gives terminals with send(keys) and an output reader


class CorexTerm:
    def __init__(self, port):
        c = http.client.HTTPConnection("127.0.0.1", port)
        q = urllib.parse.urlencode([("arg[]", SHELL)])
        c.request("GET", f"/api/process/start?{q}", headers={"Authorization": f"Bearer {TOKEN}"})
        pid = json.loads(c.getresponse().read())["id"]
        self.ws = WebSocket(port, f"/ws/{pid}", [f"Authorization: Bearer {TOKEN}"], "tty")
        self.ws.send('1{"columns":80,"rows":24}')

    def send(self, keys):
        self.ws.send("0" + keys)

    def output(self):
        m = self.ws.recv()
        return m[1:].decode(errors="replace") if m[:1] == b"0" else ""


class WettyTerm:
    def __init__(self, port):
        self.ws = WebSocket(port, "/socket.io/?EIO=4&transport=websocket")
        assert self.ws.recv().startswith(b"0")  # engine.io open
        self.ws.send("40")
        while not self.ws.recv().startswith(b'42["login"'):  # the shell is spawned: it takes input now
            pass
        self.ws.send('42["resize",{"cols":80,"rows":24}]')

    def send(self, keys):
        self.ws.send("42" + json.dumps(["input", keys]))

    def output(self):
        m = self.ws.recv()
        if m == b"2":  # engine.io ping
            self.ws.send("3")
            return ""
        if m.startswith(b"42"):
            ev = json.loads(m[2:])
            if ev[0] == "data":
                return ev[1]
        return ""


class ShellinaboxTerm:
    """shellinabox's AJAX protocol: POST creates the session, POSTs carry keys (hex), a pending
    POST long-polls for output."""

    def __init__(self, port):
        self.port = port
        self.poll = http.client.HTTPConnection("127.0.0.1", port)
        self.keys = http.client.HTTPConnection("127.0.0.1", port)
        self.poll.request("POST", "/", body="width=80&height=24&rooturl=http%3A%2F%2F127.0.0.1%2F",
                          headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        r = json.loads(self.poll.getresponse().read())
        self.session = r["session"]
        self.pending = r.get("data", "")
        self._poll()

    def _poll(self):
        self.poll.request("POST", "/", body=f"width=80&height=24&session={self.session}",
                          headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})

    def send(self, keys):
        self.keys.request("POST", "/", body=f"width=80&height=24&session={self.session}&keys={keys.encode().hex().upper()}",
                          headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        body = self.keys.getresponse().read()
        if body.startswith(b"{"):  # output may answer the keys' request too
            self.pending += json.loads(body).get("data", "")

    def output(self):
        if self.pending:
            out, self.pending = self.pending, ""
            return out
        body = self.poll.getresponse().read()
        self._poll()
        return json.loads(body).get("data", "") if body else ""


def start_corex():
    port = free_port()
    p = subprocess.Popen([COREX, "-p", str(port)], env=dict(os.environ, COREX_TOKEN=TOKEN),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_http(port, "/static/corex.css")
    return p, port, CorexTerm


def start_wetty():
    port = free_port()
    p = subprocess.Popen([str(WETTY), "--host", "127.0.0.1", "-p", str(port), "--command", SHELL],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_http(port, "/")
    return p, port, WettyTerm


def start_shellinabox():
    port = free_port()
    p = subprocess.Popen(["shellinaboxd", "-t", "--localhost-only", "-p", str(port), "-s", f"/:root:root:/:{SHELL}",
                          "--no-beep", "--disable-ssl-menu"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_http(port, "/")
    return p, port, ShellinaboxTerm


SERVERS = {"coreX": start_corex, "wetty": start_wetty, "shellinabox": start_shellinabox}


def drain(term, until, timeout=10):
    seen, deadline = "", time.time() + timeout
    while until not in seen:
        if time.time() > deadline:
            raise TimeoutError(f"{type(term).__name__}: waiting for {until!r}, saw {seen[-200:]!r}")
        seen += term.output()
    return seen


def keystrokes(term, n):
    # The shell's first prompt (input typed before it may be flushed as the shell sets the
    # terminal up), then a marker, so the start-up output is behind us.
    drain(term, "# ")
    term.send("echo ready-4''2\r")
    drain(term, "ready-42")
    times = []
    letters = "abcdefghijklmnopqrstuvwxyz"
    for i in range(n):
        k = letters[i % 26]
        t = time.perf_counter()
        term.send(k)
        drain(term, k)
        times.append(time.perf_counter() - t)
        if i % 40 == 39:  # keep the line short: ^U kills it
            term.send("\x15")
            time.sleep(0.01)
    return times


def tree_rss_kib(pid):
    """The resident memory of the server's processes (its tree without the shells)."""
    children = {}
    for d in Path("/proc").glob("[0-9]*"):
        try:
            st = (d / "stat").read_text()
            ppid = int(st.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(d.name))
        except (OSError, ValueError):
            pass
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        try:
            exe = os.readlink(f"/proc/{p}/exe")
            if exe in (os.path.realpath(SHELL), "/usr/bin/dash", "/bin/dash", "/usr/bin/bash"):
                continue
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def stop(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def run_start_latency(runs):
    """`tiffin run -d --corex` until the API answers, on an engine of its own."""
    from engine import Node, make_busybox_image  # tests/e2e/engine.py
    tmp = Path(tempfile.mkdtemp(prefix="corex-bench-"))
    node = Node(tmp)
    image = make_busybox_image(node, tmp)
    out = []
    try:
        for i in range(runs):
            t = time.perf_counter()
            p = node("run", "-d", "--corex", "--name", f"cx{i}", image)
            m = re.search(r"http://([\d.]+):7681/\?token=(\w+)", p.stderr.decode())
            addr, token = m.group(1), m.group(2)
            while True:
                try:
                    c = http.client.HTTPConnection(addr, 7681, timeout=1)
                    c.request("GET", "/api/processes", headers={"Authorization": f"Bearer {token}"})
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.002)
            out.append(time.perf_counter() - t)
            node("rm", "-f", f"cx{i}")
    finally:
        node.teardown()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keys", type=int, default=300)
    ap.add_argument("--no-start", action="store_true", help="skip the run --corex latency (needs root)")
    a = ap.parse_args()
    # The peer wetty (and node-pty, built from source) is the benchmark's alone: installed here,
    # at the versions bench/peers/package-lock.json pins, not by the project's set-up.
    if not WETTY.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WETTY.parents[2], check=True)
    results = {name: {"p50": [], "p99": [], "rss": []} for name in SERVERS}
    for run in range(a.runs):
        for name, start in SERVERS.items():
            p, port, Term = start()
            try:
                t = Term(port)
                times = keystrokes(t, a.keys)
                results[name]["p50"].append(pct(times, 0.50) * 1e3)
                results[name]["p99"].append(pct(times, 0.99) * 1e3)
                others = [Term(port) for _ in range(4)]  # 5 attached terminals in all
                for o in others:
                    drain(o, "# ")
                    o.send("echo ready-4''2\r")
                    drain(o, "ready-42")
                time.sleep(1.5)
                results[name]["rss"].append(tree_rss_kib(p.pid) / 1024)
            finally:
                stop(p)
    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in results.items()}
    print(f"keystroke round trip (ms, median of {a.runs} runs of {a.keys} keys) and idle RSS with 5 terminals (MiB)")
    print(f"{'server':<12} {'p50':>8} {'p99':>8} {'RSS':>8}   p50/coreX p99/coreX RSS/coreX")
    c = med["coreX"]
    for n, m in med.items():
        print(f"{n:<12} {m['p50']:8.3f} {m['p99']:8.3f} {m['rss']:8.1f}   {m['p50'] / c['p50']:9.2f} {m['p99'] / c['p99']:9.2f} "
              f"{m['rss'] / c['rss']:9.2f}")
    if not a.no_start and os.geteuid() == 0:
        times = run_start_latency(max(a.runs, 5))
        print(f"tiffin run -d --corex to the API answering: median {statistics.median(times) * 1e3:.1f} ms "
              f"(min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f}, {len(times)} runs)")


if __name__ == "__main__":
    main()
