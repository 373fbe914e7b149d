#!/usr/bin/env python3
"""Cold start of a container from a remote hub: tiffin's lazy mount against downloading and
extracting the whole image first.

The image is a debootstrap'd Debian bookworm (minbase + python3, cached in $TIFFIN_BENCH_CACHE).
The benchmark makes two network namespaces joined by a veth pair, shapes both ends with tbf to
100 Mbit/s, and runs a small TCP relay in the hub's namespace that delays every chunk by 10 ms
each way (20 ms RTT; this kernel has no netem). Behind the relay: `tiffin hub serve` and, for
the peer, an HTTP server with the image as a tar.zst (zstd -19, the smallest download).

Timed, from the node's namespace, with empty caches (page cache dropped, fresh block cache):
  tarball        curl | zstd -d | tar -x, then chroot python3 -c "import json, sqlite3; print(1)"
  tiffin         tiffin pull, tiffin flist mount --daemon, then the same chroot command, on a
                 node that never saw the image, with no profile anywhere
  tiffin+learnt  the same for a flist whose profile the hub learnt: before the timed runs, one
                 other node ran the command on a mount with --share-profile (no hand-made step:
                 the mount reports what it read, the hub merges, `tiffin pull` carries the
                 profile in the flist and the mount prefetches it)
The bytes each one moved are read from the node's interface counters.

Goal: tiffin+learnt >= 10x faster than the tarball, tiffin >= 7x, with <= 5% of the image's bytes.
Needs root. All traffic stays inside the two namespaces the benchmark makes (and deletes).
"""
import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIFFIN = os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))
CACHE = Path(os.environ.get("TIFFIN_BENCH_CACHE", "/var/tmp/tiffin-bench"))
NS_HUB, NS_NODE = "tiffin-bench-hub", "tiffin-bench-node"
HUB_IP, NODE_IP = "10.213.77.1", "10.213.77.2"
HUB_PORT, TAR_PORT = 8000, 8001  # relay ports on HUB_IP; the servers listen on 127.0.0.1 + 1000
COMMAND = 'import json, sqlite3; print(1)'


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def in_ns(ns, *cmd):
    return ["ip", "netns", "exec", ns, *map(str, cmd)]


def drop_caches():
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3")


# ---- the delaying relay (runs inside the hub's namespace: `cold_start_bench.py --relay ...`) ----

async def pump(reader, writer, delay):
    loop = asyncio.get_running_loop()
    try:
        while data := await reader.read(1 << 16):
            # call_later keeps order: every chunk waits the same delay after it arrived.
            loop.call_later(delay, writer.write, data)
    finally:
        await asyncio.sleep(delay)
        writer.close()


async def relay_main(listen_ip, pairs, delay):
    async def handler_for(target_port):
        async def handle(cr, cw):
            try:
                ur, uw = await asyncio.open_connection("127.0.0.1", target_port)
            except OSError:
                cw.close()
                return
            await asyncio.gather(pump(cr, uw, delay), pump(ur, cw, delay), return_exceptions=True)
        return handle

    servers = [await asyncio.start_server(await handler_for(t), listen_ip, l) for l, t in pairs]
    print("relay ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


# ---- the benchmark ----

def make_image():
    tree = CACHE / "debian-python"
    if not tree.exists():
        print(f"bench: debootstrap --variant=minbase --include=python3 bookworm (once; cached in {CACHE})", flush=True)
        tmp = CACHE / "debian-python.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        run(["debootstrap", "--variant=minbase", "--include=python3", "bookworm", str(tmp), "http://deb.debian.org/debian"])
        tmp.rename(tree)
    return tree


def tree_bytes(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            p = os.path.join(dirpath, f)
            if os.path.isfile(p) and not os.path.islink(p):
                total += os.lstat(p).st_size
    return total


def rx_bytes():
    return int(run(in_ns(NS_NODE, "cat", "/sys/class/net/tb-node/statistics/rx_bytes")).stdout)


class Network:
    def __init__(self, rate, delay_ms):
        self.rate, self.delay_ms, self.procs = rate, delay_ms, []

    def __enter__(self):
        self.down()
        run(["ip", "netns", "add", NS_HUB])
        run(["ip", "netns", "add", NS_NODE])
        run(["ip", "link", "add", "tb-hub", "netns", NS_HUB, "type", "veth", "peer", "name", "tb-node", "netns", NS_NODE])
        for ns, dev, ip in ((NS_HUB, "tb-hub", HUB_IP), (NS_NODE, "tb-node", NODE_IP)):
            run(in_ns(ns, "ip", "link", "set", "lo", "up"))
            run(in_ns(ns, "ip", "addr", "add", f"{ip}/24", "dev", dev))
            run(in_ns(ns, "ip", "link", "set", dev, "up"))
            run(in_ns(ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", self.rate, "burst", "256kb", "latency", "100ms"))
        relay = subprocess.Popen(in_ns(NS_HUB, sys.executable, __file__, "--relay", "--delay-ms", self.delay_ms / 2),
                                 stdout=subprocess.PIPE)
        self.procs.append(relay)
        assert relay.stdout.readline().strip() == b"relay ready"
        return self

    def serve(self, *cmd):
        p = subprocess.Popen(in_ns(NS_HUB, *cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def down(self):
        for ns in (NS_HUB, NS_NODE):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def __exit__(self, *exc):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.down()


def wait_http(url, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if subprocess.run(in_ns(NS_NODE, "curl", "-sf", "-o", "/dev/null", url), capture_output=True).returncode == 0:
            return
        time.sleep(0.2)
    raise TimeoutError(url)


def timed_in_node(script):
    """Runs a bash script in the node's namespace; the script prints 'T <seconds>' for its timed part."""
    drop_caches()
    before = rx_bytes()
    out = run(in_ns(NS_NODE, "bash", "-euc", script)).stdout.decode()
    moved = rx_bytes() - before
    secs = float([l for l in out.splitlines() if l.startswith("T ")][-1].split()[1])
    parts = None
    for l in out.splitlines():
        if l.startswith("P "):
            parts = tuple(map(float, l.split()[1:]))
            print(f"bench:   pull {parts[0]:.2f}s, mount {parts[1]:.2f}s, command (with its fetches) {parts[2]:.2f}s", flush=True)
    assert "\n1\n" in "\n" + out, f"the command did not print 1: {out}"
    return secs, moved, parts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rate", default="100mbit")
    ap.add_argument("--rtt-ms", type=float, default=20)
    ap.add_argument("--mount-args", default="", help="extra flags for tiffin flist mount, e.g. '--readahead 0'")
    ap.add_argument("--relay", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--delay-ms", type=float, default=10, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.relay:
        pairs = [(HUB_PORT, HUB_PORT + 1000), (TAR_PORT, TAR_PORT + 1000)]
        asyncio.run(relay_main(HUB_IP, pairs, args.delay_ms / 1000))
        return

    tree = make_image()
    image_bytes = tree_bytes(tree)
    work = Path(tempfile.mkdtemp(prefix="tiffin-cold-bench-"))
    try:
        print(f"bench: image {tree}: {image_bytes / 2**20:.0f} MiB of files", flush=True)
        # The peer's download: the image as tar.zst.
        (work / "www").mkdir()
        tarball = work / "www/image.tar.zst"
        run(["bash", "-c", f"tar -C {tree} -cf - . | zstd -19 -T0 -q -o {tarball}"])
        # tiffin's: an flist packed locally and pushed twice, as an image nobody ran yet and as
        # one whose profile the hub learns below.
        run([TIFFIN, "flist", "pack", str(tree), "-o", str(work / "local.fl"), "-s", f"dir://{work}/local-store", "--no-progress"])
        print(f"bench: tarball {tarball.stat().st_size / 2**20:.1f} MiB", flush=True)

        with Network(args.rate, args.rtt_ms) as net:
            net.serve(TIFFIN, "hub", "serve", "--root", work / "hub", "-l", f"127.0.0.1:{HUB_PORT + 1000}",
                      "--public-url", f"http://{HUB_IP}:{HUB_PORT}")
            net.serve("python3", "-m", "http.server", TAR_PORT + 1000, "--bind", "127.0.0.1", "--directory", work / "www")
            hub = f"http://{HUB_IP}:{HUB_PORT}"
            wait_http(f"{hub}/api/flist")
            wait_http(f"http://{HUB_IP}:{TAR_PORT}/")
            token = run([TIFFIN, "hub", "token", "--root", str(work / "hub"), "-u", "bench"]).stdout.decode().strip()
            # Pushed through the relay from the node's side (not timed).
            for name in ("debian", "debian-learnt"):
                run(in_ns(NS_NODE, TIFFIN, "push", work / "local.fl", f"{hub}/bench/{name}", "--token", token, "--no-progress"))
            # An earlier node runs the command once with --share-profile (not timed): its mount
            # reports the blocks read to the hub, which merges them into the flist's profile.
            learner = work / "learner"
            learner.mkdir()
            (learner / "mnt").mkdir()
            run(in_ns(NS_NODE, "bash", "-euc", f"""
                {TIFFIN} pull {hub}/bench/debian-learnt -o {learner}/d.fl 2>/dev/null
                TIFFIN_HUB_TOKEN={token} {TIFFIN} flist mount {learner}/d.fl {learner}/mnt --cache {learner}/cache --daemon \
                    --share-profile {hub}/bench/debian-learnt
                chroot {learner}/mnt /usr/bin/python3 -c '{COMMAND}'
                {TIFFIN} flist umount {learner}/mnt"""))
            learnt = None
            for _ in range(100):  # the mount reports as it stops
                r = subprocess.run(in_ns(NS_NODE, "curl", "-sf", f"{hub}/api/flist/bench/debian-learnt:latest/profile"), capture_output=True)
                if r.returncode == 0:
                    learnt = r.stdout.decode()
                    break
                time.sleep(0.1)
            assert learnt, "the hub learnt no profile"
            print(f"bench: the hub learnt a profile of {len(learnt.splitlines()) - 1} blocks", flush=True)

            results = {"tarball": [], "tiffin": [], "tiffin+learnt": []}
            moved = {k: [] for k in results}
            budget = {k: [] for k in results}
            node = work / "node"
            for i in range(args.runs):
                shutil.rmtree(node, ignore_errors=True)
                node.mkdir()
                s, b, _ = timed_in_node(f"""
                    mkdir {node}/rootfs
                    t0=$(date +%s.%N)
                    curl -sf http://{HUB_IP}:{TAR_PORT}/image.tar.zst | zstd -dc | tar -x -C {node}/rootfs
                    chroot {node}/rootfs /usr/bin/python3 -c '{COMMAND}'
                    t1=$(date +%s.%N)
                    echo T $(echo "$t1 - $t0" | bc -l)""")
                results["tarball"].append(s)
                moved["tarball"].append(b)
                shutil.rmtree(node / "rootfs")
                for name, image in (("tiffin", "debian"), ("tiffin+learnt", "debian-learnt")):
                    shutil.rmtree(node, ignore_errors=True)
                    node.mkdir()
                    (node / "mnt").mkdir()
                    s, b, parts = timed_in_node(f"""
                        t0=$(date +%s.%N)
                        {TIFFIN} pull {hub}/bench/{image} -o {node}/debian.fl 2>/dev/null
                        ta=$(date +%s.%N)
                        {TIFFIN} flist mount {node}/debian.fl {node}/mnt --cache {node}/cache --daemon {args.mount_args}
                        tb=$(date +%s.%N)
                        chroot {node}/mnt /usr/bin/python3 -c '{COMMAND}'
                        t1=$(date +%s.%N)
                        {TIFFIN} flist umount {node}/mnt
                        echo P $(echo "$ta - $t0" | bc -l) $(echo "$tb - $ta" | bc -l) $(echo "$t1 - $tb" | bc -l)
                        echo T $(echo "$t1 - $t0" | bc -l)""")
                    results[name].append(s)
                    moved[name].append(b)
                    budget[name].append(parts)
                print(f"bench: run {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in results.items()), flush=True)

        med = {k: statistics.median(v) for k, v in results.items()}
        mb = {k: statistics.median(v) for k, v in moved.items()}
        print(f"\nCOLD START over {args.rate}, {args.rtt_ms:.0f} ms RTT: python3 -c \"{COMMAND}\" "
              f"(image {image_bytes / 2**20:.0f} MiB; median of {args.runs} runs)")
        for k in results:
            line = (f"  {k:<16}{med[k]:>7.2f} s   {mb[k] / 2**20:>7.1f} MiB over the link "
                    f"({100 * mb[k] / image_bytes:.1f}% of the image)")
            if budget[k]:
                pull, mount, command = (statistics.median(p[i] for p in budget[k]) for i in range(3))
                line += f"   pull {pull:.2f} s, mount {mount:.2f} s, command and its fetches {command:.2f} s"
            print(line)
        print(f"  ratio: tarball / tiffin+learnt {med['tarball'] / med['tiffin+learnt']:.1f}x (goal >= 10x), "
              f"tarball / tiffin {med['tarball'] / med['tiffin']:.1f}x (goal >= 7x); bytes goal <= 5% of the image")
    finally:
        for m in ("node/mnt", "learner/mnt"):
            subprocess.run(["umount", "-l", str(work / m)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
