#!/usr/bin/env python3
"""The engine against docker (Debian's docker.io, dockerd started here as MACHINE-NOTES says) and
podman, on the same busybox root filesystem, in one run:

  run      `run --rm IMAGE true`, median of --runs, and `tiffin-oci run` of /bin/true on the same
           root filesystem (what the engine adds over its runtime)
  exec     `exec CONTAINER true` into a running container
  memory   per idle running container (`sleep`): the RSS and PSS of what each engine keeps per
           container (tiffin: the shim; docker: containerd-shim; podman: conmon), from
           /proc/<pid>/smaps_rollup, plus the container's own process
  ps       `ps` with --idle idle containers, and tiffin's total memory for them

Ratios are tiffin / peer. Goals (issue 11): run ≤ 0.08× docker and ≤ 3× tiffin-oci run, exec ≤
0.1× docker, an idle shim ≤ 1 MB RSS, `ps` < 50 ms with 1000 idle containers. Needs root;
everything it starts it stops, dockerd included.
"""
import argparse
import json
import glob
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
from dockerd import Docker  # noqa: E402,F401 (net_bench imports it from here too)
from podman_peer import Podman  # noqa: E402
TIFFIN = os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))
TIFFIN_OCI = str(Path(TIFFIN).parent / "tiffin-oci")


def timed(argv, runs, env=None):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def mem_kb(pid):
    """(RSS, PSS) in kB of one process."""
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0])
    except OSError:
        return 0, 0
    return out.get("Rss", 0), out.get("Pss", 0)


def pids_named(name):
    out = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/comm") as f:
                if f.read().strip() == name:
                    out.append(int(os.path.basename(d)))
        except OSError:
            pass
    return out


def rootfs(tmp):
    r = tmp / "rootfs"
    (r / "bin").mkdir(parents=True)
    for d in ["etc", "proc", "sys", "dev", "tmp"]:
        (r / d).mkdir()
    shutil.copy2("/bin/busybox", r / "bin" / "busybox")
    for a in ["sh", "true", "sleep"]:
        os.symlink("busybox", r / "bin" / a)
    (r / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    subprocess.run(["tar", "-C", r, "-cf", tmp / "rootfs.tar", "."], check=True)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--idle", type=int, default=1000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tiffin-engine-bench-"))
    run_root = Path(tempfile.mkdtemp(prefix="tfb-", dir="/tmp"))
    node = [TIFFIN, "--root", str(tmp / "root"), "--run-root", str(run_root)]
    docker = Docker(tmp)
    results = {}
    try:
        r = rootfs(tmp)
        subprocess.run(node + ["import", str(r), "bb"], check=True, stdout=subprocess.DEVNULL)
        # --network none, as docker's below: bench/net_bench.py measures networks.
        subprocess.run(node + ["run", "--rm", "--network", "none", "bb", "true"], check=True)  # warm: the image's mount
        results["tiffin run"] = timed(node + ["run", "--rm", "--network", "none", "bb", "true"], args.runs)
        # The runtime alone, on a bundle of the same root filesystem.
        bundle = tmp / "bundle"
        bundle.mkdir()
        subprocess.run([TIFFIN_OCI, "spec", "--bundle", str(bundle)], check=True)
        spec = json.loads((bundle / "config.json").read_text())
        spec["root"]["path"] = str(r)
        spec["process"].update(terminal=False, args=["/bin/true"])
        (bundle / "config.json").write_text(json.dumps(spec))
        oci_root = tmp / "oci"
        n = iter(range(1 << 30))
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            subprocess.run([TIFFIN_OCI, "--root", str(oci_root), "run", "--bundle", str(bundle), f"b{next(n)}"], check=True)
            times.append((time.perf_counter() - t) * 1000)
        results["tiffin-oci run"] = statistics.median(times)
        subprocess.run(node + ["run", "-d", "--network", "none", "--name", "idle0", "bb", "sleep", "100000"], check=True,
                       stdout=subprocess.DEVNULL)
        results["tiffin exec"] = timed(node + ["exec", "idle0", "true"], args.runs)
        shim = max(pids_named("tiffin-shim"))
        results["tiffin mem"] = mem_kb(shim)

        if docker.start():
            subprocess.run(docker.cli("import", str(tmp / "rootfs.tar"), "bb"), check=True, stdout=subprocess.DEVNULL)
            subprocess.run(docker.cli("run", "--rm", "--network", "none", "bb", "true"), check=True)
            results["docker run"] = timed(docker.cli("run", "--rm", "--network", "none", "bb", "true"), args.runs)
            subprocess.run(docker.cli("run", "-d", "--network", "none", "--name", "idle0", "bb", "sleep", "100000"), check=True,
                           stdout=subprocess.DEVNULL)
            results["docker exec"] = timed(docker.cli("exec", "idle0", "true"), args.runs)
            shims = pids_named("containerd-shim") + pids_named("containerd-shim-runc-v2")
            results["docker mem"] = mem_kb(max(shims)) if shims else (0, 0)
        else:
            print("dockerd did not start: docker figures skipped", file=sys.stderr)

        if shutil.which("podman"):
            with Podman(tmp) as pm:
                pm.import_tar(tmp / "rootfs.tar", "bb")
                subprocess.run(pm.cli("run", "--rm", "--network", "none", "bb", "true"), check=True, env=pm.env)
                results["podman run"] = timed(pm.cli("run", "--rm", "--network", "none", "bb", "true"), args.runs, pm.env)
                subprocess.run(pm.cli("run", "-d", "--network", "none", "--name", "idle0", "bb", "sleep", "100000"), check=True,
                               stdout=subprocess.DEVNULL, env=pm.env)
                results["podman exec"] = timed(pm.cli("exec", "idle0", "true"), args.runs, pm.env)
                results["podman mem"] = mem_kb(max(pids_named("conmon")))

        # Many idle containers: ps time and the total memory of their shims.
        for i in range(1, args.idle):
            subprocess.run(node + ["run", "-d", "--network", "none", "--name", f"idle{i}", "bb", "sleep", "100000"], check=True,
                           stdout=subprocess.DEVNULL)
        results["tiffin ps"] = timed(node + ["ps"], 9)
        shims = pids_named("tiffin-shim")
        total = [mem_kb(p) for p in shims]
        results["tiffin shims"] = (len(shims), sum(t[0] for t in total), sum(t[1] for t in total))
    finally:
        ids = subprocess.run(node + ["ps", "-aq"], capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(node + ["rm", "-f", *ids], stdout=subprocess.DEVNULL)
        subprocess.run(node + ["system", "prune", "-a"], stdout=subprocess.DEVNULL)
        docker.stop()
        shutil.rmtree(run_root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)

    def ratio(a, b):
        return f"{results[a] / results[b]:.3f}×" if a in results and b in results and results[b] else "n/a"

    print(f"run --rm true   tiffin {results['tiffin run']:.1f} ms | docker {results.get('docker run', 0):.1f} ms "
          f"({ratio('tiffin run', 'docker run')}, goal ≤ 0.08×) | podman {results.get('podman run', 0):.1f} ms "
          f"({ratio('tiffin run', 'podman run')}) | tiffin-oci run {results['tiffin-oci run']:.1f} ms "
          f"({ratio('tiffin run', 'tiffin-oci run')}, goal ≤ 3×)")
    print(f"exec true       tiffin {results['tiffin exec']:.1f} ms | docker {results.get('docker exec', 0):.1f} ms "
          f"({ratio('tiffin exec', 'docker exec')}, goal ≤ 0.1×) | podman {results.get('podman exec', 0):.1f} ms ({ratio('tiffin exec', 'podman exec')})")
    for k in ["tiffin mem", "docker mem", "podman mem"]:
        if k in results:
            print(f"per container   {k.split()[0]:<7} RSS {results[k][0]} kB, PSS {results[k][1]} kB" +
                  (" (goal ≤ 1024 kB RSS)" if k == "tiffin mem" else ""))
    n, rss, pss = results["tiffin shims"]
    print(f"{n} idle containers: tiffin ps {results['tiffin ps']:.1f} ms (goal < 50 ms); shims RSS {rss / 1024:.1f} MiB, "
          f"PSS {pss / 1024:.1f} MiB ({pss / max(n, 1):.0f} kB PSS each)")


if __name__ == "__main__":
    main()
