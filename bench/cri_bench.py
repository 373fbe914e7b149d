#!/usr/bin/env python3
"""Pod start under containerd's CRI: tiffin-snapshotter + tiffin-oci against runc + overlayfs.

Kubelet's calls, timed from a CRI client (tests/e2e/cri.py): PullImage (cold cases only),
RunPodSandbox, CreateContainer, StartContainer ("running"), then until the container's command
(`cat /marker`, a file of the image) has exited ("done"). The image: busybox, --data-mib MiB of
incompressible data the command never reads, and the marker, in three layers.

The node (containerd, its shims, tiffin-snapshotter and its lazy mounts) runs in a network
namespace of the benchmark's own, behind the cold-start benchmark's shaped link: a veth pair
with tbf at --rate on both ends and a relay that delays every chunk by --delay-ms/2 each way.
Behind the link, on the host's loopback: the registry and `tiffin hub serve`.
Cases (fresh containerd root, fresh snapshotter root and block cache, page cache dropped):
  tiffin cold, hub unlearnt
                tiffin-snapshotter + tiffin-oci on a node that never saw the image: the pull
                fetches manifest and config from the registry and the image's flist from the
                hub (converted there beforehand), the container then reads only the blocks it
                needs, each when it reads it
  tiffin cold   the same after one node has taught the hub what the start reads (its mount's
                report): the hub's steady state. The flist comes with that prefetch profile,
                and the mount fetches those blocks in parallel batches as it starts
  tiffin warm   the same with the image already pulled (not timed): its blocks still come from
                the hub
  runc warm     runc + overlayfs with the image already pulled (not timed)
  runc cold     runc + overlayfs pulling the whole image over the link
Goal: tiffin cold >= 5x faster than runc cold. The pause image is pulled before timing (it is
the node's). Needs root. Traffic: loopback and the benchmark's own veth pair only.
"""
import argparse
import hashlib
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
os.environ.setdefault("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))
os.environ.setdefault("TIFFIN_OCI_BIN", str(ROOT / "build" / "apps" / "tiffin-oci"))

from conftest import TIFFIN, Server, free_port, tiffin  # noqa: E402
from cri import Containerd, Snapshotter, push_images  # noqa: E402
from ociimage import Layout, busybox_members  # noqa: E402
from registry import Registry  # noqa: E402

NS = "tiffin-cri-bench"
HOST_IP, NODE_IP = "10.213.78.1", "10.213.78.2"
HUB_PORT, REG_PORT = 8000, 8001  # the relay's ports on HOST_IP
MARKER = b"ready"


def run(*cmd, **kw):
    return subprocess.run(list(map(str, cmd)), check=True, capture_output=True, **kw)


def drop_caches():
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3")


class Link:
    """The node's namespace, joined to the host by a shaped veth pair, and the delaying relay."""

    def __init__(self, rate, delay_ms, hub_port, reg_port):
        self.rate, self.delay_ms, self.ports = rate, delay_ms, (hub_port, reg_port)

    def __enter__(self):
        self.down()
        run("ip", "netns", "add", NS)
        run("ip", "link", "add", "tcb-host", "type", "veth", "peer", "name", "tcb-node", "netns", NS)
        run("ip", "addr", "add", f"{HOST_IP}/24", "dev", "tcb-host")
        run("ip", "link", "set", "tcb-host", "up")
        node = ["ip", "netns", "exec", NS]
        run(*node, "ip", "link", "set", "lo", "up")
        run(*node, "ip", "addr", "add", f"{NODE_IP}/24", "dev", "tcb-node")
        run(*node, "ip", "link", "set", "tcb-node", "up")
        for prefix, dev in (([], "tcb-host"), (node, "tcb-node")):
            run(*prefix, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", self.rate, "burst", "256kb", "latency", "100ms")
        code = ("import asyncio, sys; sys.path.insert(0, %r); from cold_start_bench import relay_main; "
                "asyncio.run(relay_main(%r, [(%d, %d), (%d, %d)], %f))"
                % (str(ROOT / "bench"), HOST_IP, HUB_PORT, self.ports[0], REG_PORT, self.ports[1], self.delay_ms / 2000))
        self.relay = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        assert self.relay.stdout.readline().strip() == b"relay ready"
        return self

    def rx_bytes(self):
        return int(run("ip", "netns", "exec", NS, "cat", "/sys/class/net/tcb-node/statistics/rx_bytes").stdout)

    def down(self):
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        subprocess.run(["ip", "link", "del", "tcb-host"], capture_output=True)

    def __exit__(self, *exc):
        if self.relay.poll() is None:
            self.relay.kill()
            self.relay.wait()
        self.down()


IN_NODE = ["nsenter", f"--net=/run/netns/{NS}"]  # the network only: mounts stay the host's


def make_image(tmp: Path, data_mib: int):
    lay = Layout(tmp / "layout")
    base = lay.layer(busybox_members())
    chunk = b"".join(hashlib.sha512(i.to_bytes(8, "little")).digest() for i in range(16384))  # 1 MiB, incompressible
    data = lay.layer([("dir", "data", 0o755)] + [("file", f"data/f{i}", chunk[i:] + chunk[:i], 0o644) for i in range(data_mib)])
    top = lay.layer([("file", "marker", MARKER, 0o644)])
    lay.tag(lay.image([base, data, top], {"Cmd": ["cat", "/marker"], "Env": ["PATH=/bin"]}), "latest")
    return lay


def one_run(case, tmp: Path, images, app_ref, link, hub_url, token, pull, teach=False):
    """A fresh node for one timed pod start; returns (pull s, running s, done s, bytes received).
    Only with `teach` does its snapshotter tell the hub what the start read (its mounts report
    as they end, in close()): the timed runs leave the hub's profile as it is."""
    d = Path(tempfile.mkdtemp(prefix="tfcb-", dir="/tmp"))
    share = () if teach else ("--no-share-profiles",)
    sn = Snapshotter(hub_url, token, *share, command_prefix=IN_NODE, log_level="info") if case.startswith("tiffin") else None
    ctd = Containerd(d / "ctd", images.pause, snapshotter="tiffin" if sn else "overlayfs", extra_toml=sn.toml() if sn else "",
                     registry_hosts=(f"{HOST_IP}:{REG_PORT}",), command_prefix=IN_NODE)
    cri = ctd.client()
    handler = "tiffin" if sn else "runc"
    try:
        cri.pull(images.pause)
        if not pull:
            cri.pull(app_ref)
        drop_caches()
        before = link.rx_bytes()
        t0 = time.monotonic()
        if pull:
            cri.pull(app_ref, timeout=1800)
        t_pull = time.monotonic()
        pod = cri.run_pod("bench", runtime_handler=handler)
        cid = cri.run_container(pod, "app", app_ref)
        t_running = time.monotonic()
        st = cri.wait_exited(cid, timeout=600)
        t_done = time.monotonic()
        assert st.exit_code == 0, st
        moved = link.rx_bytes() - before
        cri.stop_pod(pod)
        cri.remove_pod(pod)
        return t_pull - t0, t_running - t0, t_done - t0, moved
    finally:
        cri.close()
        ctd.close()
        if sn:
            sn.close()
        shutil.rmtree(d, ignore_errors=True)


def wait_for_profile(hub_port, hub_root: Path, timeout=30):
    """Until the hub serves a profile for the app's flist (alice/app:sha256-…)."""
    names = [p.name[:-3] for p in hub_root.rglob("app:sha256-*.fl")]
    assert len(names) == 1, names
    url = f"http://127.0.0.1:{hub_port}/api/flist/alice/{names[0]}/profile"
    deadline = time.time() + timeout
    while True:
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url], capture_output=True, text=True).stdout
        if out == "200":
            return
        assert time.time() < deadline, f"the hub learnt no profile: {url} answers {out}"
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--data-mib", type=int, default=128)
    ap.add_argument("--rate", default="100mbit")
    ap.add_argument("--delay-ms", type=float, default=20, help="round trip added by the relay")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("cri_bench: needs root")

    tmp = Path(tempfile.mkdtemp(prefix="tiffin-cri-bench-"))
    reg = Registry(tmp / "registry")
    hub_port = free_port()
    hub = Server([TIFFIN, "hub", "serve", "--root", str(tmp / "hub"), "-l", f"127.0.0.1:{hub_port}",
                  "--public-url", f"http://{HOST_IP}:{HUB_PORT}", "--insecure-registry", f"{HOST_IP}:{REG_PORT}"], hub_port).start()
    try:
        images = push_images(reg, tmp / "small")
        images.pause = images.pause.replace(reg.host, f"{HOST_IP}:{REG_PORT}")
        reg.push(make_image(tmp, args.data_mib).dir, "latest", "bench/app:1")
        app_ref = f"{HOST_IP}:{REG_PORT}/bench/app:1"
        token = tiffin("hub", "token", "--root", tmp / "hub", "-u", "alice").stdout.decode().strip()
        with Link(args.rate, args.delay_ms, hub_port, reg.port) as link:
            hub_url = f"http://{HOST_IP}:{HUB_PORT}"
            print(f"cri_bench: image = busybox + {args.data_mib} MiB unread + marker; link {args.rate}, "
                  f"{args.delay_ms:g} ms RTT; {args.runs} runs", flush=True)
            # The hub converts the image (and the pause image) once, as its first user's pull does.
            one_run("tiffin-convert", tmp, images, app_ref, link, hub_url, token, pull=True)
            results = {}

            def measure(cases):
                for i in range(args.runs):
                    for name, pull in cases:
                        r = one_run(name, tmp, images, app_ref, link, hub_url, token, pull)
                        results.setdefault(name, []).append(r)
                        print(f"  run {i + 1} {name:26s} pull {r[0]:6.2f}s  running {r[1]:6.2f}s  done {r[2]:6.2f}s  "
                              f"received {r[3] / 1e6:7.1f} MB", flush=True)

            # A hub that has not learnt what the image's start reads: each block is fetched when read.
            measure([("tiffin cold, hub unlearnt", True)])
            # One node teaches it (its mount reports the blocks its start read); from then on a
            # node's copy of the flist carries that profile and its mount prefetches those blocks.
            one_run("tiffin-teach", tmp, images, app_ref, link, hub_url, token, pull=True, teach=True)
            wait_for_profile(hub_port, tmp / "hub")
            measure([("tiffin cold", True), ("tiffin warm", False), ("runc warm", False), ("runc cold", True)])
        med = {n: tuple(statistics.median(x[k] for x in rs) for k in range(4)) for n, rs in results.items()}
        print("\nmedians                         pull   running     done   received")
        for n, m in med.items():
            print(f"  {n:26s} {m[0]:7.2f}s {m[1]:8.2f}s {m[2]:7.2f}s {m[3] / 1e6:7.1f} MB")
        cold = med["runc cold"][2] / med["tiffin cold"][2]
        unlearnt = med["runc cold"][2] / med["tiffin cold, hub unlearnt"][2]
        warm = med["runc warm"][2] / med["tiffin warm"][2]
        print(f"\ntiffin cold is {cold:.1f}x faster than runc cold (goal >= 5x; {unlearnt:.1f}x before the hub learnt "
              f"the image's profile); with the image pulled, tiffin (its first reads from the hub included) runs at "
              f"{warm:.2f}x runc's speed")
        print(json.dumps({"medians": med, "cold_speedup": cold, "cold_speedup_unlearnt": unlearnt}))
    finally:
        hub.stop()
        reg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
