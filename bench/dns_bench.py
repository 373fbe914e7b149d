#!/usr/bin/env python3
"""Name lookup latency through tiffin-dns over loopback: p50/p99 of sequential UDP queries for a
network's own name (answered by the resolver), for a forwarded name (the resolver asks a fake
upstream of this bench's own on 127.0.0.1, never the host's resolver), and the same forwarded
name asked of the upstream directly, so the resolver's own share of a forwarded lookup shows;
TCP for a local name too, and the resolver's resident memory.

`measure(addr, port, name, n)` is what bench/net_bench.py reuses to put docker's embedded DNS
beside these figures. Needs root only to bind 127.0.0.x addresses other than 127.0.0.1 (any
user can on Linux; no root needed in practice).
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from dnsutil import A, FakeUpstream, Reply, build_query, free_udp_port, recv_framed  # noqa: E402

DNS_BIN = os.environ.get("TIFFIN_DNS_BIN", str(ROOT / "build" / "apps" / "tiffin-dns"))
LISTEN = "127.0.0.41"


def measure(addr, port, name, n, tcp=False):
    """Latencies (seconds) of `n` sequential queries for `name`; every reply is checked."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    out = []
    if tcp:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.connect((addr, port))
    else:
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.connect((addr, port))
    s.settimeout(5)
    try:
        for i in range(n):
            q = build_query(name, A, qid=i & 0xFFFF)
            t = time.perf_counter()
            if tcp:
                s.sendall(len(q).to_bytes(2, "big") + q)
                data = recv_framed(s)
            else:
                s.send(q)
                data = s.recv(65535)
            out.append(time.perf_counter() - t)
            r = Reply(data)
            if r.id != i & 0xFFFF or r.rcode != 0 or not r.answers:
                raise RuntimeError(f"bad reply for {name}: rcode {r.rcode}, {r.answers}")
    finally:
        s.close()
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def line(label, xs):
    return f"{label:<34} p50 {pct(xs, 50) * 1e6:8.1f} us   p99 {pct(xs, 99) * 1e6:8.1f} us   (n={len(xs)})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=2000, help="queries per series")
    args = ap.parse_args()

    upstream = FakeUpstream()
    with tempfile.TemporaryDirectory(prefix="tiffin-dns-bench-") as tmp:
        d = Path(tmp)
        port = free_udp_port(LISTEN)
        (d / "bench.conf").write_text(f"listen {LISTEN}:{port}\nupstream 127.0.0.1:{upstream.port}\nsearch tiffin\nrecord web 10.89.0.2\n")
        proc = subprocess.Popen([DNS_BIN, str(d)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 5
            while True:
                try:
                    measure(LISTEN, port, "web", 1)
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.05)
            for name in ("web", "outside.test"):
                measure(LISTEN, port, name, 200)  # warm-up
            local = measure(LISTEN, port, "web.tiffin", args.n)
            local_tcp = measure(LISTEN, port, "web.tiffin", args.n, tcp=True)
            forwarded = measure(LISTEN, port, "outside.test", args.n)
            direct = measure("127.0.0.1", upstream.port, "outside.test", args.n)
            rss = next(int(ln.split()[1]) for ln in open(f"/proc/{proc.pid}/status") if ln.startswith("VmRSS:"))
        finally:
            proc.kill()
            proc.wait()
    upstream.close()
    print("tiffin-dns lookups over loopback, sequential, one client (python)")
    print(line("local name, UDP", local))
    print(line("local name, TCP (one connection)", local_tcp))
    print(line("forwarded name, UDP", forwarded))
    print(line("same name, upstream asked directly", direct))
    print(f"{'forwarding cost (p50 difference)':<34} {(pct(forwarded, 50) - pct(direct, 50)) * 1e6:8.1f} us")
    print(f"{'resolver RSS':<34} {rss} KiB")


if __name__ == "__main__":
    main()
