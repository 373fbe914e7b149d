#!/usr/bin/env python3
"""`run` of a busybox bundle executing /bin/true: tiffin-oci against runc and crun (Debian's), in
one run, with the create / start / delete split and peak RSS (/usr/bin/time -v's maximum
resident set size of the runtime process).

crun 1.8 refuses this machine's hybrid cgroups, so all three are measured in a private mount
namespace with the cgroup2 mount hidden (unshare -m, umount /sys/fs/cgroup/unified); tiffin-oci
is measured in the normal namespace too. Every runtime gets the same config.json (tiffin-oci
spec: Docker's capabilities and seccomp profile, masked paths, pid/net/ipc/uts/mount/cgroup
namespaces). Medians of --runs. Goal: tiffin-oci's median below crun's, RSS no higher.

Needs root.
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
OCI = os.environ.get("TIFFIN_OCI_BIN", str(ROOT / "build" / "apps" / "tiffin-oci"))


def make_bundle(tmp: Path) -> Path:
    b = tmp / "bundle"
    (b / "rootfs" / "bin").mkdir(parents=True)
    for d in ["proc", "sys", "dev", "tmp"]:
        (b / "rootfs" / d).mkdir()
    shutil.copy2("/bin/busybox", b / "rootfs" / "bin" / "busybox")
    os.symlink("busybox", b / "rootfs" / "bin" / "true")
    subprocess.run([OCI, "spec", "--bundle", str(b)], check=True)
    cfg = json.loads((b / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/true"]
    (b / "config.json").write_text(json.dumps(cfg))
    return b


def timed(cmd):
    t = time.perf_counter()
    # No pipes: a created container keeps its inherited stdio open until it exits.
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t) * 1000


def measure(name, binary, bundle: Path, runs: int, state: Path):
    root = state / name
    cfg_path = bundle / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["linux"]["cgroupsPath"] = f"/tiffin-bench-{name}"
    cfg_path.write_text(json.dumps(cfg))
    base = [binary, "--root", str(root)]
    run_ms, create_ms, start_ms, delete_ms, rss = [], [], [], [], []
    for i in range(runs + 2):
        ms = timed([*base, "run", "--bundle", str(bundle), f"r{i}"])
        if i >= 2:  # two warm-up runs: page cache, dentries
            run_ms.append(ms)
    for i in range(runs):
        cid = f"s{i}"
        create_ms.append(timed([*base, "create", "--bundle", str(bundle), cid]))
        start_ms.append(timed([*base, "start", cid]))
        # /bin/true exits at once; wait for the state to say so before deleting.
        for _ in range(1000):
            st = subprocess.run([*base, "state", cid], capture_output=True)
            if b'"stopped"' in st.stdout:
                break
            time.sleep(0.001)
        delete_ms.append(timed([*base, "delete", cid]))
    for i in range(max(3, runs // 5)):
        p = subprocess.run(["/usr/bin/time", "-f", "%M", *base, "run", "--bundle", str(bundle), f"m{i}"],
                           capture_output=True, check=True)
        rss.append(int(p.stderr.decode().strip().splitlines()[-1]))
    for d in Path("/sys/fs/cgroup").glob(f"*/tiffin-bench-{name}"):
        subprocess.run(["find", str(d), "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"], capture_output=True)
    return {"run": statistics.median(run_ms), "create": statistics.median(create_ms),
            "start": statistics.median(start_ms), "delete": statistics.median(delete_ms),
            "rss_kb": statistics.median(rss)}


def hidden_cgroup2(args):
    """Inside unshare -m: hide the cgroup2 mount, then measure all three runtimes."""
    subprocess.run(["umount", "/sys/fs/cgroup/unified"], check=True)
    tmp = Path(args.tmp)
    bundle = tmp / "bundle"
    out = {}
    for name, binary in [("tiffin-oci", OCI), ("runc", shutil.which("runc")), ("crun", shutil.which("crun"))]:
        out[name] = measure(name, binary, bundle, args.runs, tmp / "state-hidden")
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tmp", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inner:
        return hidden_cgroup2(args)
    with tempfile.TemporaryDirectory(prefix="tiffin-oci-bench-") as t:
        tmp = Path(t)
        make_bundle(tmp)
        normal = measure("tiffin-oci-normal", OCI, tmp / "bundle", args.runs, tmp / "state-normal")
        p = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, __file__, "--inner",
                            "--tmp", str(tmp), "--runs", str(args.runs)], capture_output=True, check=True)
        hidden = json.loads(p.stdout.decode().strip().splitlines()[-1])
    print(f"run of /bin/true in a busybox bundle, medians of {args.runs} (ms; RSS in MB)")
    print(f"{'runtime':<28}{'run':>8}{'create':>8}{'start':>8}{'delete':>8}{'RSS':>8}")
    rows = [("tiffin-oci (hybrid cgroups)", normal)] + [(f"{k} (cgroup2 hidden)", v) for k, v in hidden.items()]
    for label, r in rows:
        print(f"{label:<28}{r['run']:>8.1f}{r['create']:>8.1f}{r['start']:>8.1f}{r['delete']:>8.1f}{r['rss_kb'] / 1024:>8.1f}")
    t = hidden["tiffin-oci"]
    for peer in ["runc", "crun"]:
        p = hidden[peer]
        print(f"tiffin-oci vs {peer}: run {p['run'] / t['run']:.2f}x faster, RSS {t['rss_kb'] / p['rss_kb']:.2f}x of {peer}'s")


if __name__ == "__main__":
    main()
