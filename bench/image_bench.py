#!/usr/bin/env python3
"""Registry images: tiffin against docker and skopeo, all from the same local registry.

The image is cold_start_bench.py's debootstrap'd Debian bookworm + python3 (cached), pushed as
three layers (the system without python's library, python's library, a small app), and a
second image that shares the first two layers.

Timed (medians of --runs, each from an empty store):
  pull       tiffin pull (download + convert into an flist)  vs  docker pull  vs  skopeo copy to a dir
  shared     tiffin pull of the second image after the first: the bytes it downloads and converts
  save/load  tiffin save / tiffin load  vs  docker save / docker load
  cold       over the shaped link of cold_start_bench.py (100 Mbit/s, 20 ms RTT), from a fresh node
             to the first `python3 -c 'print(1)'`: (a) docker pull + run, (b) tiffin pull + run,
             (c) tiffin run of the flist the hub converted (lazy), when the hub can convert.
Goals: pull <= 1.0x docker; (c) >= 10x faster than (a).
Needs root; traffic stays on loopback and inside the namespaces cold_start_bench makes.
"""
import argparse
import gzip
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
from cold_start_bench import HUB_IP, HUB_PORT, NS_HUB, NS_NODE, TAR_PORT, Network, drop_caches, in_ns, make_image  # noqa: E402
from dockerd import Docker  # noqa: E402

TIFFIN = os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))
PY_LIB = "usr/lib/python3.11"


def run(cmd, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, **kw)
    if p.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} exited {p.returncode}: {p.stderr.decode(errors='replace')[-2000:]}")
    return p


def timed(cmd, **kw):
    t = time.perf_counter()
    p = run(cmd, **kw)
    return time.perf_counter() - t, p


# ---- the image: an OCI layout of three gzip layers, made once

def blob(layout, data_path):
    h = hashlib.sha256()
    with open(data_path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    digest = "sha256:" + h.hexdigest()
    dest = layout / "blobs/sha256" / digest[7:]
    if not dest.exists():
        shutil.copyfile(data_path, dest)
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": dest.stat().st_size}


def layer(layout, tmp, name, tar_args):
    plain = tmp / f"{name}.tar"
    run(["tar", "--numeric-owner", "--xattrs", "-cf", plain, *tar_args])
    diff = "sha256:" + hashlib.sha256(plain.read_bytes()).hexdigest()
    gz = tmp / f"{name}.tar.gz"
    run(["sh", "-c", f"gzip -6 -c {plain} > {gz}"])
    return blob(layout, gz), diff


def make_layout(cache, tree):
    layout = cache / "image-layout"
    if (layout / "index.json").exists():
        return layout
    print("bench: making the 3-layer OCI layout (once)", flush=True)
    tmp = Path(tempfile.mkdtemp(dir=cache))
    work = cache / "image-layout.tmp"
    shutil.rmtree(work, ignore_errors=True)
    (work / "blobs/sha256").mkdir(parents=True)
    (work / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    base = layer(work, tmp, "base", ["-C", tree, f"--exclude=./{PY_LIB}", "."])
    py = layer(work, tmp, "python", ["-C", tree, f"./{PY_LIB}"])
    entries = []
    for tag, text in (("1", "app one"), ("2", "app two")):
        app = tmp / f"app{tag}"
        (app / "app").mkdir(parents=True)
        (app / "app/main.py").write_text(f"print({text!r})\n")
        top = layer(work, tmp, f"app{tag}", ["-C", app, "./app"])
        cfg = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["python3", "/app/main.py"], "Env": ["PATH=/usr/bin:/bin"]},
               "rootfs": {"type": "layers", "diff_ids": [base[1], py[1], top[1]]}}
        cfg_path = tmp / f"config{tag}.json"
        cfg_path.write_text(json.dumps(cfg))
        cd = blob(work, cfg_path)
        cd["mediaType"] = "application/vnd.oci.image.config.v1+json"
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": cd,
                    "layers": [base[0], py[0], top[0]]}
        mpath = tmp / f"manifest{tag}.json"
        mpath.write_text(json.dumps(manifest))
        md = blob(work, mpath)
        md["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
        md["annotations"] = {"org.opencontainers.image.ref.name": tag}
        entries.append(md)
    (work / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))
    shutil.rmtree(tmp)
    work.rename(layout)
    return layout


class Registry:
    """docker-registry on addr, its storage in a temp dir."""

    def __init__(self, addr, netns=None):
        self.dir = Path(tempfile.mkdtemp(prefix="reg-", dir="/var/tmp"))
        self.addr = addr
        (self.dir / "config.yml").write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                                             f"    rootdirectory: {self.dir}/data\nhttp:\n  addr: {addr}\n")
        argv = ["docker-registry", "serve", str(self.dir / "config.yml")]
        self.proc = subprocess.Popen(in_ns(netns, *argv) if netns else argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.netns = netns
        for _ in range(200):
            curl = ["curl", "-sf", "-o", "/dev/null", f"http://{addr}/v2/"]
            if subprocess.run(in_ns(netns, *curl) if netns else curl).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("registry did not start")

    def push(self, layout, tag, name):
        argv = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:{tag}", f"docker://{self.addr}/{name}"]
        run(in_ns(self.netns, *argv) if self.netns else argv)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def in_net(ns, *cmd):
    """Only the network namespace (nsenter): `ip netns exec` also remounts /sys, which hides the
    cgroup mounts containers need."""
    return ["nsenter", f"--net=/run/netns/{ns}", *map(str, cmd)]


def tiffin(root, *args, netns=None, **kw):
    argv = [TIFFIN, "--root", root / "root", "--run-root", root / "run", *args]
    return run(in_net(netns, *argv) if netns else argv, **kw)


def fresh_root():
    return Path(tempfile.mkdtemp(prefix="tfb-", dir="/var/tmp"))


def remove_root(root):
    subprocess.run([TIFFIN, "--root", root / "root", "--run-root", root / "run", "system", "prune", "-a", "-f"], capture_output=True)
    subprocess.run(["umount", "-R", "-l", str(root)], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def med(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-cold", action="store_true")
    ap.add_argument("--skip-local", action="store_true", help="only the cold start over the shaped link")
    args = ap.parse_args()
    cache = Path(os.environ.get("TIFFIN_BENCH_CACHE", "/var/tmp/tiffin-bench"))
    tree = make_image()
    layout = make_layout(cache, tree)
    size = sum(json.loads((layout / "blobs/sha256" / e["digest"][7:]).read_text())["layers"][i]["size"]
               for e in json.loads((layout / "index.json").read_text())["manifests"][:1] for i in range(3))
    print(f"bench: image of {size / 1e6:.0f} MB compressed in 3 layers", flush=True)

    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    if args.skip_local:
        return cold(args, layout)
    reg = Registry(f"127.0.0.1:{port}")
    docker = Docker(Path("/var/tmp"))
    try:
        reg.push(layout, "1", "bench/py:1")
        reg.push(layout, "2", "bench/py:2")
        ref1, ref2 = f"{reg.addr}/bench/py:1", f"{reg.addr}/bench/py:2"
        if not docker.start():
            raise SystemExit("dockerd did not start")
        t_tiffin, t_docker, t_skopeo, t_shared, shared_err = [], [], [], [], ""
        t_save, t_load, t_dsave, t_dload = [], [], [], []
        for i in range(args.runs):
            drop_caches()
            root = fresh_root()
            try:
                t, _ = timed([TIFFIN, "--root", root / "root", "--run-root", root / "run", "pull", "-q", ref1])
                t_tiffin.append(t)
                t, p = timed([TIFFIN, "--root", root / "root", "--run-root", root / "run", "pull", ref2])
                t_shared.append(t)
                shared_err = p.stderr.decode().strip().splitlines()[-2:]
                out = root / "saved.tar"
                t, _ = timed([TIFFIN, "--root", root / "root", "--run-root", root / "run", "save", "-o", out, ref1])
                t_save.append(t)
                other = fresh_root()
                try:
                    t, _ = timed([TIFFIN, "--root", other / "root", "--run-root", other / "run", "load", "-q", "-i", out])
                    t_load.append(t)
                finally:
                    remove_root(other)
            finally:
                remove_root(root)
            subprocess.run(docker.cli("rmi", "-f", ref1, ref2), capture_output=True)
            subprocess.run(docker.cli("image", "prune", "-af"), capture_output=True)
            drop_caches()
            t, _ = timed(docker.cli("pull", "-q", ref1))
            t_docker.append(t)
            tar = Path(tempfile.mkdtemp(dir="/var/tmp")) / "d.tar"
            t, _ = timed(docker.cli("save", "-o", tar, ref1))
            t_dsave.append(t)
            subprocess.run(docker.cli("rmi", "-f", ref1), capture_output=True)
            t, _ = timed(docker.cli("load", "-q", "-i", tar))
            t_dload.append(t)
            shutil.rmtree(tar.parent)
            d = Path(tempfile.mkdtemp(dir="/var/tmp"))
            drop_caches()
            t, _ = timed(["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{ref1}", f"dir:{d}/img"])
            t_skopeo.append(t)
            shutil.rmtree(d)
        mb = size / 1e6
        print(f"pull: tiffin {med(t_tiffin):.2f}s  docker {med(t_docker):.2f}s  skopeo copy {med(t_skopeo):.2f}s  "
              f"tiffin/docker {med(t_tiffin) / med(t_docker):.2f}x  (goal <= 1.0x); "
              f"tiffin {mb / med(t_tiffin):.0f} MB/s vs skopeo {mb / med(t_skopeo):.0f} MB/s")
        print(f"shared base: second image {med(t_shared):.2f}s; tiffin says: {' / '.join(shared_err)}")
        print(f"save: tiffin {med(t_save):.2f}s  docker {med(t_dsave):.2f}s  ratio {med(t_save) / med(t_dsave):.2f}x")
        print(f"load: tiffin {med(t_load):.2f}s  docker {med(t_dload):.2f}s  ratio {med(t_load) / med(t_dload):.2f}x")
    finally:
        docker.stop()
        reg.stop()
    if not args.skip_cold:
        cold(args, layout)


def cold(args, layout):
    """(a) docker pull + run, (b) tiffin pull + run, (c) the hub's converted flist run lazily."""
    cmd = ["python3", "-c", "print(1)"]
    results = {"a": [], "b": [], "c": []}
    with Network("100mbit", 20) as net:
        # Behind the delaying relay: the registry (TAR_PORT) and the hub (HUB_PORT), each listening
        # on the hub namespace's loopback at port + 1000.
        reg = Registry(f"127.0.0.1:{TAR_PORT + 1000}", netns=NS_HUB)
        hub_dir = Path(tempfile.mkdtemp(prefix="hub-", dir="/var/tmp"))
        try:
            reg.push(layout, "1", "bench/py:1")
            ref = f"{HUB_IP}:{TAR_PORT}/bench/py:1"
            can_convert = subprocess.run([TIFFIN, "hub", "convert", "--help"], capture_output=True).returncode == 0
            hub_url = None
            if can_convert:
                net.serve(TIFFIN, "hub", "serve", "--root", hub_dir, "-l", f"127.0.0.1:{HUB_PORT + 1000}", "--public-url",
                          f"http://{HUB_IP}:{HUB_PORT}")
                for _ in range(100):
                    if (hub_dir / "hub.key").exists():
                        break
                    time.sleep(0.1)
                token = run([TIFFIN, "hub", "token", "--root", hub_dir, "-u", "bench"]).stdout.decode().strip()
                t = time.perf_counter()
                run(in_ns(NS_HUB, TIFFIN, "hub", "convert", "--token", token, f"http://127.0.0.1:{HUB_PORT + 1000}/bench/py:1",
                          f"127.0.0.1:{TAR_PORT + 1000}/bench/py:1"))
                print(f"bench: the hub converted the image in {time.perf_counter() - t:.1f}s", flush=True)
                hub_url = f"http://{HUB_IP}:{HUB_PORT}/bench/py:1"
            for _ in range(args.runs):
                d = Docker(Path("/var/tmp"))
                try:
                    d.proc = None
                    # dockerd in the node's namespace, the registry over http (insecure, as asked).
                    env = dict(os.environ, HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY=f"127.0.0.1,{HUB_IP}")
                    d.proc = subprocess.Popen(in_net(NS_NODE, "dockerd", "--storage-driver=overlay2", "-H", d.sock, "--data-root",
                                                    f"{d.dir}/data", "--exec-root", f"{d.dir}/exec", "--pidfile", f"{d.dir}/pid",
                                                    "--bridge=none", "--iptables=false", "--ip-forward=false",
                                                    "--insecure-registry", f"{HUB_IP}:{TAR_PORT}"),
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
                    for _ in range(300):
                        if subprocess.run(d.cli("info"), capture_output=True).returncode == 0:
                            break
                        time.sleep(0.1)
                    drop_caches()
                    t = time.perf_counter()
                    out = run(d.cli("run", "--rm", "--network", "none", ref, *cmd)).stdout
                    results["a"].append(time.perf_counter() - t)
                    assert out.strip() == b"1"
                finally:
                    d.stop()
                root = fresh_root()
                try:
                    drop_caches()
                    t = time.perf_counter()
                    tiffin(root, "pull", "-q", "--tls-verify=false", ref, netns=NS_NODE)
                    out = tiffin(root, "run", "--rm", "--network", "none", ref, *cmd, netns=NS_NODE).stdout
                    results["b"].append(time.perf_counter() - t)
                    assert out.strip() == b"1"
                finally:
                    remove_root(root)
                if hub_url:
                    root = fresh_root()
                    try:
                        drop_caches()
                        t = time.perf_counter()
                        out = tiffin(root, "run", "--rm", "--network", "none", hub_url, *cmd, netns=NS_NODE).stdout
                        results["c"].append(time.perf_counter() - t)
                        assert out.strip() == b"1"
                    finally:
                        remove_root(root)
        finally:
            reg.stop()
            shutil.rmtree(hub_dir, ignore_errors=True)
    a, b = med(results["a"]), med(results["b"])
    line = f"cold start to python3 over 100 Mbit/s, 20 ms RTT: (a) docker pull+run {a:.2f}s  (b) tiffin pull+run {b:.2f}s ({a / b:.1f}x faster)"
    if results["c"]:
        c = med(results["c"])
        line += f"  (c) hub-converted lazy run {c:.2f}s ({a / c:.1f}x faster than (a); goal >= 10x)"
    else:
        line += "  (c) not measured: this tiffin's hub cannot convert"
    print(line)


if __name__ == "__main__":
    main()
