#!/usr/bin/env python3
"""Container networks, tiffin against docker (dockerd from Debian's docker.io, started here with its
bridge and iptables, as a user has it) in one run, on the same busybox root filesystem:

  run       `run --rm IMAGE true` on the default bridge network and with --network none: the
            bridge's overhead (goal ≤ 5 ms) and the ratio to docker's `run --rm` (goal ≤ 0.1×)
  tcp       iperf3 throughput: a plain veth pair between two namespaces (the reference);
            container↔container on one bridge; a client namespace through a published port; the
            host through 127.0.0.1 (docker: its userland proxy); goals ≥ 0.9× the veth pair, and
            through 127.0.0.1 ≥ 2× docker
  http      connections/s through a published port (wrk, short requests to busybox httpd)
  dns       name lookup latency p50/p99 from inside a container, of another container's name
            (tiffin-dns on the gateway; docker's embedded DNS on 127.0.0.11)
  scale     time per `run -d` on one network as it fills to --scale containers (the curve)

The servers run in the containers' network namespaces (nsenter), so the measured path is the
container's. Traffic stays on loopback and inside bridges and namespaces made here; the node's
resolver gets a loopback upstream, and dockerd --dns 127.0.0.1 (MACHINE-NOTES). iptables rules,
the FORWARD policy, ip_forward and docker0 are put back as they were. Needs root.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "bench"))
from engine_bench import Docker, timed  # noqa: E402
from netenv import ClientNetns  # noqa: E402
from oci import busybox_rootfs  # noqa: E402

TIFFIN = os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))


def sh(*args, **kw):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True, **kw)


def rootfs(tmp):
    r = busybox_rootfs(tmp / "rootfs")
    for a in ["httpd", "mkdir"]:
        os.symlink("busybox", r / "bin" / a)
    (r / "www").mkdir()
    (r / "www" / "index.html").write_text("hello\n")
    subprocess.run(["tar", "-C", r, "-cf", tmp / "rootfs.tar", "."], check=True)
    return r


def iperf(server_ns_pid, client_prefix, address, port=5201, seconds=4):
    """Gbit/s of one TCP stream to `address`:port, iperf3 -s in the network namespace of
    `server_ns_pid` (a pid, or an `ip netns` name), the client run with `client_prefix`."""
    server_prefix = (["nsenter", f"--net=/proc/{server_ns_pid}/ns/net"] if isinstance(server_ns_pid, int)
                     else ["ip", "netns", "exec", server_ns_pid])
    srv = subprocess.Popen(server_prefix + ["iperf3", "-s", "-1", "-p", "5201"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            out = sh(*client_prefix, "iperf3", "-c", address, "-p", port, "-t", seconds, "-J")
            try:
                return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9
            except (ValueError, KeyError):
                time.sleep(0.1)  # the server is not listening yet
        raise RuntimeError(f"iperf3 to {address}:{port}: {out.stdout[-600:]} {out.stderr[-300:]}")
    finally:
        srv.kill()
        srv.wait()


def wrk_in(client, url, seconds=4):
    return wrk(url, seconds, ["ip", "netns", "exec", client.name])


def wrk(url, seconds=4, prefix=()):
    out = sh(*prefix, "wrk", "-t1", "-c8", f"-d{seconds}s", "-H", "Connection: close", url).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError("wrk: " + out)


def lookups(pid, server, name, n=1000):
    """p50 and p99 (ms) of `n` lookups of `name` from the network namespace of `pid`."""
    code = ("import sys, statistics; sys.path.insert(0, %r); from dns_bench import measure; "
            "xs = sorted(measure(%r, 53, %r, %d)); print(xs[len(xs)//2]*1000, xs[int(len(xs)*0.99)]*1000)"
            % (str(ROOT / "bench"), server, name, n))
    out = sh("nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c", code, check=True).stdout.split()
    return float(out[0]), float(out[1])


class VethPair:
    """Two namespaces joined by a veth: the reference for throughput."""

    def __init__(self):
        self.a, self.b = "tfbench-a", "tfbench-b"
        for ns in (self.a, self.b):
            sh("ip", "netns", "add", ns, check=True)
        sh("ip", "link", "add", "tfbva", "netns", self.a, "type", "veth", "peer", "name", "tfbvb", "netns", self.b, check=True)
        for ns, dev, ip in ((self.a, "tfbva", "10.253.0.1/30"), (self.b, "tfbvb", "10.253.0.2/30")):
            sh("ip", "-n", ns, "addr", "add", ip, "dev", dev, check=True)
            sh("ip", "-n", ns, "link", "set", dev, "up", check=True)
            sh("ip", "-n", ns, "link", "set", "lo", "up", check=True)

    def close(self):
        for ns in (self.a, self.b):
            sh("ip", "netns", "del", ns)


class HostNetState:
    """What dockerd changes: iptables rules and policies, ip_forward, docker0. Put back on close."""

    def __init__(self):
        self.v4 = sh("iptables-save").stdout
        self.v6 = sh("ip6tables-save").stdout
        self.forward = Path("/proc/sys/net/ipv4/ip_forward").read_text()

    def close(self):
        subprocess.run(["iptables-restore"], input=self.v4, text=True, capture_output=True)
        subprocess.run(["ip6tables-restore"], input=self.v6, text=True, capture_output=True)
        Path("/proc/sys/net/ipv4/ip_forward").write_text(self.forward)
        sh("ip", "link", "del", "docker0")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--scale", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=4)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tiffin-net-bench-"))
    run_root = Path(tempfile.mkdtemp(prefix="tfn-", dir="/tmp"))
    node = [TIFFIN, "--root", str(tmp / "root"), "--run-root", str(run_root), "--dns-upstream", "127.0.0.1:9"]
    host_state = HostNetState()
    docker = Docker(tmp)
    client = veth = None
    res = {}

    def out(argv):
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()

    def pid_of(argv_inspect):
        return int(out(argv_inspect))

    try:
        rootfs(tmp)
        subprocess.run(node + ["import", str(tmp / "rootfs"), "bb"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(node + ["run", "--rm", "bb", "true"], check=True)  # the default network and the image's mount
        client = ClientNetns(third_octet=251)
        veth = VethPair()

        # ---- run latency
        res["run none"] = timed(node + ["run", "--rm", "--network", "none", "bb", "true"], args.runs)
        res["run bridge"] = timed(node + ["run", "--rm", "bb", "true"], args.runs)
        subprocess.run(node + ["network", "create", "benchnet"], check=True, stdout=subprocess.DEVNULL)
        res["run user net"] = timed(node + ["run", "--rm", "--network", "benchnet", "bb", "true"], args.runs)

        # ---- tiffin: servers in containers
        subprocess.run(node + ["run", "-d", "--name", "srv", "--network", "benchnet", "-p", "15201:5201", "-p", "18080:80",
                               "bb", "httpd", "-f", "-p", "80", "-h", "/www"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(node + ["run", "-d", "--name", "cli", "--network", "benchnet", "bb", "sleep", "100000"], check=True,
                       stdout=subprocess.DEVNULL)
        insp = json.loads(out(node + ["inspect", "srv"]))[0]
        srv_pid, srv_ip = insp["State"]["Pid"], insp["NetworkSettings"]["Networks"]["benchnet"]["IPAddress"]
        gateway = insp["NetworkSettings"]["Networks"]["benchnet"]["Gateway"]
        cli_pid = json.loads(out(node + ["inspect", "cli"]))[0]["State"]["Pid"]
        res["tcp veth pair"] = iperf(veth.a, ["ip", "netns", "exec", veth.b], "10.253.0.1", seconds=args.seconds)
        res["tcp host loopback"] = iperf(os.getpid(), [], "127.0.0.1", seconds=args.seconds)
        res["tiffin tcp ctr-ctr"] = iperf(srv_pid, ["nsenter", f"--net=/proc/{cli_pid}/ns/net"], srv_ip, seconds=args.seconds)
        res["tiffin tcp client->port"] = iperf(srv_pid, ["ip", "netns", "exec", client.name], client.host_ip, 15201, args.seconds)
        res["tiffin tcp 127.0.0.1->port"] = iperf(srv_pid, [], "127.0.0.1", 15201, args.seconds)
        res["tiffin http conn/s"] = wrk("http://127.0.0.1:18080/index.html", args.seconds)
        res["tiffin http conn/s client"] = wrk_in(client, f"http://{client.host_ip}:18080/index.html", args.seconds)
        res["tiffin dns"] = lookups(cli_pid, gateway, "srv")

        # ---- docker, the same
        if docker.start_with_network():
            dk = docker.cli
            subprocess.run(dk("import", str(tmp / "rootfs.tar"), "bb"), check=True, stdout=subprocess.DEVNULL)
            subprocess.run(dk("run", "--rm", "bb", "true"), check=True)
            res["docker run bridge"] = timed(dk("run", "--rm", "bb", "true"), args.runs)
            subprocess.run(dk("network", "create", "benchnet"), check=True, stdout=subprocess.DEVNULL)
            subprocess.run(dk("run", "-d", "--name", "srv", "--network", "benchnet", "-p", "25201:5201", "-p", "28080:80",
                              "bb", "httpd", "-f", "-p", "80", "-h", "/www"), check=True, stdout=subprocess.DEVNULL)
            subprocess.run(dk("run", "-d", "--name", "cli", "--network", "benchnet", "bb", "sleep", "100000"), check=True,
                           stdout=subprocess.DEVNULL)
            dsrv = pid_of(dk("inspect", "-f", "{{.State.Pid}}", "srv"))
            dsrv_ip = out(dk("inspect", "-f", "{{.NetworkSettings.Networks.benchnet.IPAddress}}", "srv"))
            dcli = pid_of(dk("inspect", "-f", "{{.State.Pid}}", "cli"))
            res["docker tcp ctr-ctr"] = iperf(dsrv, ["nsenter", f"--net=/proc/{dcli}/ns/net"], dsrv_ip, seconds=args.seconds)
            res["docker tcp client->port"] = iperf(dsrv, ["ip", "netns", "exec", client.name], client.host_ip, 25201, args.seconds)
            res["docker tcp 127.0.0.1->port"] = iperf(dsrv, [], "127.0.0.1", 25201, args.seconds)
            res["docker http conn/s"] = wrk("http://127.0.0.1:28080/index.html", args.seconds)
            res["docker http conn/s client"] = wrk_in(client, f"http://{client.host_ip}:28080/index.html", args.seconds)
            res["docker dns"] = lookups(dcli, "127.0.0.11", "srv")
        else:
            print("dockerd did not start: docker figures skipped", file=sys.stderr)

        # ---- scale: time per run -d as one network fills
        subprocess.run(node + ["network", "create", "--subnet", "10.254.0.0/16", "scale"], check=True, stdout=subprocess.DEVNULL)
        # Beside it, every tenth step, a container with --network none: what grows with the
        # count without any network (the host's mount table each new mount namespace copies).
        curve, baseline = [], []
        for i in range(args.scale):
            for argv, out_list in [(["--network", "scale"], curve)] + ([(["--network", "none"], baseline)] if i % 10 == 9 else []):
                t = time.perf_counter()
                subprocess.run(node + ["run", "-d", *argv, "bb", "sleep", "100000"], check=True, stdout=subprocess.DEVNULL)
                out_list.append((time.perf_counter() - t) * 1000)
        res["scale"], res["scale none"] = curve, baseline
    finally:
        ids = subprocess.run(node + ["ps", "-aq"], capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(node + ["rm", "-f", *ids], stdout=subprocess.DEVNULL)
        subprocess.run(node + ["network", "prune"], stdout=subprocess.DEVNULL)
        subprocess.run(node + ["network", "rm", "tiffin"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(node + ["system", "prune", "-a"], stdout=subprocess.DEVNULL)
        docker.stop()
        host_state.close()
        for c in (client, veth):
            if c:
                c.close()
        pidfile = run_root / "dns" / "resolver.pid"
        if pidfile.exists():
            sh("kill", "-9", pidfile.read_text().split()[0])
        shutil.rmtree(run_root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    report(res)


def report(r):
    def ratio(a, b):
        return f"{r[a] / r[b]:.2f}×" if a in r and b in r and r[b] else "n/a"
    print(f"run --rm true: none {r['run none']:.1f} ms | default bridge {r['run bridge']:.1f} ms | user network "
          f"{r['run user net']:.1f} ms → bridge overhead {r['run bridge'] - r['run none']:+.1f} ms (goal ≤ 5)")
    if "docker run bridge" in r:
        print(f"  docker run --rm (bridge) {r['docker run bridge']:.1f} ms → tiffin/docker {ratio('run bridge', 'docker run bridge')}"
              " (goal ≤ 0.1×)")
    print(f"TCP (Gbit/s): veth pair {r['tcp veth pair']:.2f} | host loopback {r['tcp host loopback']:.2f}")
    for what in ["tcp ctr-ctr", "tcp client->port", "tcp 127.0.0.1->port"]:
        line = f"  {what}: tiffin {r['tiffin ' + what]:.2f} ({ratio('tiffin ' + what, 'tcp veth pair')} of the veth pair)"
        if "docker " + what in r:
            line += f" | docker {r['docker ' + what]:.2f} → tiffin/docker {ratio('tiffin ' + what, 'docker ' + what)}"
        print(line)
    for key, where in [("http conn/s", "from 127.0.0.1"), ("http conn/s client", "from the client namespace")]:
        line = f"HTTP connections/s through a published port {where}: tiffin {r['tiffin ' + key]:.0f}"
        if "docker " + key in r:
            line += f" | docker {r['docker ' + key]:.0f} → {ratio('tiffin ' + key, 'docker ' + key)}"
        print(line)
    t = r["tiffin dns"]
    line = f"name lookup from a container (ms): tiffin p50 {t[0]:.3f} p99 {t[1]:.3f}"
    if "docker dns" in r:
        d = r["docker dns"]
        line += f" | docker p50 {d[0]:.3f} p99 {d[1]:.3f} → p50 {t[0] / d[0]:.2f}×"
    print(line)
    curve, none = r["scale"], r["scale none"]
    step = max(1, len(curve) // 10)
    print("run -d on one network as it fills, median ms per bucket of containers (and one --network none run per 10):")
    for k, i in enumerate(range(0, len(curve), step)):
        extra = f"  (none: {statistics.median(none[k * step // 10:(k + 1) * step // 10] or [0]):.1f})" if none else ""
        print(f"  {i + 1:>4}-{i + step:<4} {statistics.median(curve[i:i + step]):6.1f}{extra}")


if __name__ == "__main__":
    main()
