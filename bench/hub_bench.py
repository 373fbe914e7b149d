#!/usr/bin/env python3
"""The hub at scale, tiffin against nginx (Debian's nginx-light) serving the same block files, in
one run, on loopback:

  blocks    requests/s and p50/p99 latency of 512 KiB block GETs, 64 keep-alive clients (wrk);
            goal ≥ 0.8× nginx
  small     requests/s of HEAD of a block (both), of an flist's .md5 and of
            /api/blocks/missing with 1000 ids (tiffin: nginx has no such routes)
  idle      keep-alive connections held at once (goal ≥ 10,000), the server's memory per idle
            connection, and that a request is still answered meanwhile
  gc        `tiffin hub gc` over a hub of 100,000 blocks (bench/hub_gc_bench.py), with --gc

Both servers get the same cores (this machine has 2) and run one at a time. The hub runs with
--rate-limit 0 --max-client-connections 0: a benchmark is one client doing what a crowd does,
and nginx has no such limits either. Needs root (the hub's token is made with its key file)
only for nothing in particular; any user with wrk and nginx can run it.
"""
import argparse
import http.client
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from hashlib import blake2b
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import free_port, wait_port  # noqa: E402
TIFFIN = os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))
BLOCK_SIZE = 512 * 1024


def rss_kib(pids):
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def make_blocks(root, count):
    """`count` blocks of 512 KiB of random bytes, in the hub's layout, named by their hash."""
    ids = []
    for _ in range(count):
        data = os.urandom(BLOCK_SIZE)
        h = blake2b(data, digest_size=32).hexdigest()
        d = root / "blocks" / h[:2]
        d.mkdir(parents=True, exist_ok=True)
        (d / h).write_bytes(data)
        ids.append(h)
    return ids


class Hub:
    def __init__(self, root):
        self.root, self.port = root, free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.proc = subprocess.Popen([TIFFIN, "hub", "serve", "--root", self.root, "-l", f"127.0.0.1:{self.port}",
                                      "--rate-limit", "0", "--max-client-connections", "0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        self.pids = [self.proc.pid]
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Nginx:
    def __init__(self, root, work):
        self.root, self.work, self.port = root, work, free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.work.mkdir(parents=True, exist_ok=True)
        conf = self.work / "nginx.conf"
        # What a tuned static file server looks like: a worker per CPU, sendfile, long
        # keep-alive, no access log; the block layout is served as files.
        conf.write_text(f"""
daemon off;
master_process on;
worker_processes auto;
worker_rlimit_nofile 40000;
pid {self.work}/nginx.pid;
error_log {self.work}/error.log warn;
events {{ worker_connections 20000; use epoll; multi_accept on; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path {self.work}/body;
  proxy_temp_path {self.work}/proxy;
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    root {self.root};
  }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.work], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)
        time.sleep(0.3)
        self.pids = [self.proc.pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                                                                       capture_output=True, text=True).stdout.split()]
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def wrk(url, script, seconds, connections=64, threads=2):
    """Requests/s and p50/p99 latency (ms) of a wrk run with `script` (Lua)."""
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = p50 = p99 = None
    errors = 0
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            rps = float(parts[1])
        elif parts and parts[0] in ("50%", "50.000%"):
            p50 = to_ms(parts[1])
        elif parts and parts[0] in ("99%", "99.000%"):
            p99 = to_ms(parts[1])
        elif line.strip().startswith("Non-2xx") or line.strip().startswith("Socket errors"):
            errors += 1
            print("   ", url, script.name, line.strip())
    if rps is None:
        raise RuntimeError("wrk printed no result:\n" + out)
    return rps, p50, p99


def to_ms(text):
    for unit, scale in (("us", 0.001), ("ms", 1), ("s", 1000)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float(text)


def lua_paths(path, targets, method="GET", body=None, headers=None):
    """A wrk script that cycles through `targets`."""
    lines = ["local targets = {" + ",".join(json.dumps(t) for t in targets) + "}", "local i = 0",
             f"wrk.method = {json.dumps(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
    for k, v in (headers or {}).items():
        lines.append(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
    lines += ["request = function()", "  i = i % #targets + 1", "  return wrk.format(nil, targets[i])", "end"]
    path.write_text("\n".join(lines) + "\n")
    return path


def head_latency(port, paths, count=3000):
    """p50 and p99 (ms) of HEAD requests for blocks, one after another on one connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    for i in range(count):
        start = time.perf_counter()
        conn.request("HEAD", paths[i % len(paths)])
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
        times.append((time.perf_counter() - start) * 1000)
    conn.close()
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.99)]


def median_of(runs, fn):
    results = [fn() for _ in range(runs)]
    return tuple(statistics.median(r[k] for r in results) for k in range(len(results[0])))


def hold_idle(url_port, count, pids, probe, sources=20):
    """Opens `count` keep-alive connections, each having sent one request, from `sources`
    loopback addresses; returns (held, RSS growth KiB per connection, a request's latency
    while they are held)."""
    before = rss_kib(pids)
    socks = []
    per = (count + sources - 1) // sources
    request = f"HEAD {probe} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    try:
        for i in range(count):
            s = socket.socket()
            s.bind((f"127.0.1.{1 + i // per}", 0))
            s.connect(("127.0.0.1", url_port))
            s.sendall(request)
            socks.append(s)
        for s in socks:  # every connection answered once and now idle, as a node's would be
            s.settimeout(10)
            s.recv(4096)
        time.sleep(1)
        held = 0
        for s in socks:
            s.setblocking(False)
            try:
                held += s.recv(1) != b""
            except BlockingIOError:
                held += 1  # still open, nothing to read
        after = rss_kib(pids)
        start = time.monotonic()
        urllib.request.urlopen(f"http://127.0.0.1:{url_port}{probe}", timeout=10).read()
        latency = time.monotonic() - start
        return held, (after - before) / max(1, len(socks)), latency
    finally:
        for s in socks:
            s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=10, help="each wrk run")
    ap.add_argument("--runs", type=int, default=3, help="wrk runs per server and test (the median is quoted)")
    ap.add_argument("--blocks", type=int, default=128)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--gc", action="store_true", help="also run bench/hub_gc_bench.py")
    a = ap.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"hub_bench: {tool} is missing (scripts/install-deps.sh installs it)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers inherit it
    if hard < a.idle + 1000:
        print(f"open-file limit {hard}: holding {hard - 1000} connections instead of {a.idle}")
        a.idle = hard - 1000

    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        tmp = Path(tmp)
        tmp.chmod(0o755)  # nginx's workers run as an unprivileged user
        root = tmp / "hub"
        ids = make_blocks(root, a.blocks)
        # An flist for the .md5 route: any file the hub accepts as one is enough here.
        src = tmp / "src"
        src.mkdir()
        (src / "f").write_bytes(os.urandom(4096))
        subprocess.run([TIFFIN, "flist", "pack", src, "-o", tmp / "x.fl", "-s", f"dir://{root}/blocks"], check=True,
                       capture_output=True)
        (root / "flists" / "bench").mkdir(parents=True)
        shutil.copy(tmp / "x.fl", root / "flists" / "bench" / "x:latest.fl")
        paths = [f"/{h[:2]}/{h}" for h in ids]
        scripts = tmp / "lua"
        scripts.mkdir()
        get_blocks = lua_paths(scripts / "get.lua", paths)
        # wrk cannot read answers to HEAD (it waits for the body Content-Length announces), so
        # the small block request is a one-byte range; HEAD is timed one client at a time below.
        byte_of_blocks = lua_paths(scripts / "range.lua", paths, headers={"Range": "bytes=0-0"})
        md5 = lua_paths(scripts / "md5.lua", ["/bench/x:latest.fl.md5"])
        missing = lua_paths(scripts / "missing.lua", ["/api/blocks/missing"], method="POST",
                            body=json.dumps(ids[:1000] + [os.urandom(32).hex() for _ in range(1000 - len(ids[:1000]))]),
                            headers={"Content-Type": "application/json"})

        results = {}
        for name, server in (("tiffin", Hub(root)), ("nginx", Nginx(root / "blocks", tmp / "nginx"))):
            with server as s:
                for f in (get_blocks, byte_of_blocks):
                    wrk(s.url, f, 2)  # warm the page cache and the server
                r = results[name] = {}
                r["get"] = median_of(a.runs, lambda: wrk(s.url, get_blocks, a.seconds))
                r["byte"] = median_of(a.runs, lambda: wrk(s.url, byte_of_blocks, a.seconds))
                r["head"] = head_latency(s.port, paths)
                if name == "tiffin":
                    r["md5"] = median_of(a.runs, lambda: wrk(s.url, md5, a.seconds))
                    r["missing"] = median_of(a.runs, lambda: wrk(s.url, missing, a.seconds))
                idle_rss = rss_kib(s.pids)
                r["idle"] = hold_idle(s.port, a.idle, s.pids, paths[0])
                r["rss_idle_kib"] = idle_rss

        t, n = results["tiffin"], results["nginx"]
        print(f"\n== 512 KiB block GETs, 64 keep-alive clients, median of {a.runs} × {a.seconds} s ==")
        print(f"  tiffin hub  {t['get'][0]:9.0f} req/s   p50 {t['get'][1]:.2f} ms   p99 {t['get'][2]:.2f} ms")
        print(f"  nginx       {n['get'][0]:9.0f} req/s   p50 {n['get'][1]:.2f} ms   p99 {n['get'][2]:.2f} ms")
        print(f"  ratio       {t['get'][0] / n['get'][0]:.2f}×  (goal ≥ 0.8×)")
        print("\n== small requests, 64 clients ==")
        print(f"  1 byte of a block  tiffin {t['byte'][0]:9.0f} req/s (p99 {t['byte'][2]:.2f} ms)   nginx {n['byte'][0]:9.0f} req/s"
              f" (p99 {n['byte'][2]:.2f} ms)   ratio {t['byte'][0] / n['byte'][0]:.2f}×")
        print(f"  HEAD of a block, one keep-alive client: tiffin p50 {t['head'][0]:.3f} ms p99 {t['head'][1]:.3f} ms   "
              f"nginx p50 {n['head'][0]:.3f} ms p99 {n['head'][1]:.3f} ms")
        print(f"  .md5               tiffin {t['md5'][0]:9.0f} req/s (p99 {t['md5'][2]:.2f} ms)")
        print(f"  missing, 1000 ids  tiffin {t['missing'][0]:8.0f} req/s (p99 {t['missing'][2]:.2f} ms)")
        print(f"\n== {a.idle} idle keep-alive connections ==")
        for name, r in results.items():
            held, per_conn, latency = r["idle"]
            print(f"  {name:7s} held {held}   {per_conn:.2f} KiB/connection (RSS {r['rss_idle_kib'] / 1024:.1f} MiB before)"
                  f"   a request meanwhile: {latency * 1000:.1f} ms")
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if a.gc:
        subprocess.run([sys.executable, str(ROOT / "bench" / "hub_gc_bench.py")], check=False)


if __name__ == "__main__":
    main()
