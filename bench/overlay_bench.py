#!/usr/bin/env python3
"""Zero-OS private networks across nodes (issue 18), on two nodes made of network namespaces
joined by an underlay bridge (tests/e2e/zosnet.py), all in one run:

  tcp       iperf3 throughput and TCP round-trip latency (1-byte ping-pong, p50) between the two
            nodes over three paths: the plain underlay (veth and bridge, no tunnel), WireGuard
            alone (wireguard-go configured with `wg`, no tiffin anywhere), and container→container
            over a zos network. Goal: tiffin's overhead over bare wireguard-go ≤ 5%.
  create    time from `network create` on the second node to the first successful ping across
            (from its resource's namespace to a container on the first node).
  run       `run --rm IMAGE true` with --network zosnet and with --network none, alternated:
            goal ≤ 10 ms extra.

Medians of --runs runs. Traffic stays inside the namespaces made here. Needs root, wireguard-go,
wireguard-tools (wg) and iperf3.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
os.environ.setdefault("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))
from zosnet import Underlay, keypair, wireguard_go_pids  # noqa: E402

RANGE = "10.20.0.0/16"
PORT = 51820
BARE_PORT = 51830

# A TCP echo of one byte, and its client: `rounds` round trips, the median in microseconds.
ECHO_SERVER = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7007)); s.listen(); print("ready", flush=True)
c, _ = s.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while True:
    b = c.recv(1)
    if not b: break
    c.sendall(b)
"""
ECHO_CLIENT = """
import socket, statistics, sys, time
c = socket.create_connection((sys.argv[1], 7007), timeout=5); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
xs = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter(); c.sendall(b"x"); c.recv(1); xs.append(time.perf_counter() - t)
print(statistics.median(xs) * 1e6)
"""


def sh(*args, check=True, **kw):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True, check=check, **kw)


def in_ns(path):
    return ["nsenter", f"--net={path}"]


def iperf(server_prefix, client_prefix, address, seconds):
    srv = subprocess.Popen(server_prefix + ["iperf3", "-s", "-1", "-p", "5201"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            out = sh(*client_prefix, "iperf3", "-c", address, "-p", 5201, "-t", seconds, "-J", check=False)
            try:
                return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9
            except (ValueError, KeyError):
                time.sleep(0.1)
        raise RuntimeError(f"iperf3 to {address}: {out.stdout[-400:]} {out.stderr[-200:]}")
    finally:
        srv.kill()
        srv.wait()


def rtt_us(server_prefix, client_prefix, address, rounds=2000):
    srv = subprocess.Popen(server_prefix + [sys.executable, "-c", ECHO_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "ready"
        return float(sh(*client_prefix, sys.executable, "-c", ECHO_CLIENT, address, rounds).stdout)
    finally:
        srv.kill()
        srv.wait()


class BareWireguard:
    """wireguard-go in each node's namespace, configured with wg: WireGuard with no tiffin.

    Started as a daemon in a session of its own, as tiffin starts its own (and as a service
    manager would): with the kernel's autogroup scheduling (sched_autogroup_enabled), a
    wireguard-go left in the benchmark's session would share its CPU with iperf3's processes
    thread by thread, while a daemon gets its session's share; on two cores, that alone moves
    throughput by 20–30%."""

    def __init__(self, a, b, tmp):
        self.names = {a: f"wgb{a.index}{a.underlay.tag}", b: f"wgb{b.index}{b.underlay.tag}"}
        keys = {n: keypair() for n in (a, b)}
        for n, other, ip in ((a, b, "10.99.0.1/24"), (b, a, "10.99.0.2/24")):
            name = self.names[n]
            subprocess.Popen(["ip", "netns", "exec", n.ns, "wireguard-go", "-f", name], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
            for _ in range(500):
                if os.path.exists(f"/var/run/wireguard/{name}.sock"):
                    break
                time.sleep(0.01)
            (tmp / f"{name}.key").write_text(keys[n][0] + "\n")
            n.host("wg", "set", name, "private-key", tmp / f"{name}.key", "listen-port", BARE_PORT, "peer", keys[other][1],
                   "endpoint", f"{other.address}:{BARE_PORT}", "allowed-ips", "10.99.0.0/24")
            n.host("ip", "addr", "add", ip, "dev", name)
            n.host("ip", "link", "set", name, "up")

    def close(self):
        for pid, name in wireguard_go_pids().items():
            if name in self.names.values():
                os.kill(pid, 9)


def median(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4, help="per iperf3 run")
    ap.add_argument("--starts", type=int, default=15, help="run --rm per network mode")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tfob-"))
    u = Underlay(third_octet=214)
    bare = None
    try:
        a, b = u.add_node(tmp, 1), u.add_node(tmp, 2)
        (pa, ka), (pb, kb) = keypair(), keypair()
        for n in (a, b):
            n.image(tmp)
        b("network", "create", "--driver", "zos", "--ip-range", RANGE, "--subnet", "10.20.4.0/24", "--wg-private-key", pb,
          "--wg-listen-port", PORT, "--peer", f"pubkey={ka},subnet=10.20.3.0/24,endpoint={a.address}:{PORT}", "zosnet")
        b("run", "-d", "--name", "srv", "--network", "zosnet", "--ip", "10.20.4.7", "netbox", "sleep", "100000")
        create_args = ["network", "create", "--driver", "zos", "--ip-range", RANGE, "--subnet", "10.20.3.0/24", "--wg-private-key", pa,
                       "--wg-listen-port", PORT, "--peer", f"pubkey={kb},subnet=10.20.4.0/24,endpoint={b.address}:{PORT}", "zosnet"]

        # create → first ping across, from A's resource namespace.
        firsts = []
        for _ in range(args.runs + 2):
            t0 = time.perf_counter()
            a(*create_args)
            nr = [p for p in (a.run_root / "netns").iterdir() if p.name.startswith("nr-")][0]
            while sh(*in_ns(nr), "busybox", "ping", "-c", "1", "-W", "1", "10.20.4.7", check=False).returncode != 0:
                pass
            firsts.append((time.perf_counter() - t0) * 1000)
            a("network", "rm", "zosnet")
        a(*create_args)
        a("run", "-d", "--name", "cli", "--network", "zosnet", "netbox", "sleep", "100000")

        # run --rm with the zos network and with none, alternated.
        t_zos, t_none = [], []
        for i in range(args.starts):
            for mode, out in (("zosnet", t_zos), ("none", t_none)):
                t0 = time.perf_counter()
                a("run", "--rm", "--network", mode, "netbox", "true")
                out.append((time.perf_counter() - t0) * 1000)

        bare = BareWireguard(a, b, tmp)
        pid = {n: n.inspect(c)["State"]["Pid"] for n, c in ((a, "cli"), (b, "srv"))}
        paths = {
            "underlay (veth+bridge)": (["ip", "netns", "exec", b.ns], ["ip", "netns", "exec", a.ns], b.address),
            "wireguard-go alone": (["ip", "netns", "exec", b.ns], ["ip", "netns", "exec", a.ns], "10.99.0.2"),
            "tiffin zos network": (in_ns(f"/proc/{pid[b]}/ns/net"), in_ns(f"/proc/{pid[a]}/ns/net"), "10.20.4.7"),
        }
        gbit = {k: [] for k in paths}
        rtt = {k: [] for k in paths}
        for _ in range(args.runs):
            for k, (srv, cli, addr) in paths.items():
                gbit[k].append(iperf(srv, cli, addr, args.seconds))
                rtt[k].append(rtt_us(srv, cli, addr))

        print(f"TCP between two nodes (median of {args.runs}; iperf3 {args.seconds} s, 2000 1-byte round trips)")
        print(f"  {'path':<24}{'Gbit/s':>10}{'RTT p50 µs':>14}")
        for k in paths:
            print(f"  {k:<24}{median(gbit[k]):>10.2f}{median(rtt[k]):>14.0f}")
        base, ours = "wireguard-go alone", "tiffin zos network"
        tput = median(gbit[ours]) / median(gbit[base])
        lat = median(rtt[ours]) / median(rtt[base])
        print(f"  tiffin / bare wireguard-go: throughput {tput:.3f}× (overhead {100 * (1 - tput):+.1f}%, goal ≤ 5%), "
              f"RTT {lat:.3f}× (overhead {100 * (lat - 1):+.1f}%)")
        print(f"network create → first ping across: median {median(firsts):.0f} ms (runs: {', '.join(f'{x:.0f}' for x in firsts)})")
        extra = median(t_zos) - median(t_none)
        print(f"run --rm: --network zosnet {median(t_zos):.1f} ms, --network none {median(t_none):.1f} ms: "
              f"{extra:+.1f} ms (goal ≤ 10 ms)")
    finally:
        if bare:
            bare.close()
        leaks = u.close()
        if leaks:
            print("left behind:", leaks)


if __name__ == "__main__":
    main()
