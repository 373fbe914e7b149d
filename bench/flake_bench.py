#!/usr/bin/env python3
"""Flakes (tiffin-pilot) against the same program run natively and against `podman run --rm` of
the same image (what flake-pilot's podman-pilot does for every call), in one run.

The app is the host's python3 in an image of its own (the binary, the libraries it loads and
busybox), called as `python3 --version`:

  native        /usr/bin/python3 --version on the host
  flake         a flake's call through its symlink: tiffin-pilot → tiffin run --rm
  flake resume  a --resume flake's later calls: through the agent in its kept container
  podman        podman run --rm --network none IMAGE python3 --version
  microVM       a --vm flake's call end to end (boot, run, power off); PILOT_DEBUG's breakdown
  disk          bytes added to the node by each of 10 flakes that are a small layer over one base

Goals (issue 20): flake ≤ 0.15× podman, resume ≤ 3× native, a microVM call ≤ 500 ms (Firecracker
publishes ~125 ms to user space). Where /dev/kvm is not backed by VT-x/AMD-V (these machines' is
PVM) the microVM runs under qemu's emulation and the figure says so. Needs root; everything it
starts it stops.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
from podman_peer import Podman  # noqa: E402 (bench/, the script's directory)

TIFFIN = os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))


def median_ms(argv, runs, env=None):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def python_rootfs(root: Path) -> Path:
    """python3 with the libraries the loader resolves for it, and busybox for a shell."""
    python = os.path.realpath("/usr/bin/python3")
    (root / "usr" / "bin").mkdir(parents=True)
    for d in ["bin", "etc", "tmp", "proc", "sys", "dev"]:
        (root / d).mkdir(exist_ok=True)
    shutil.copy2(python, root / "usr" / "bin" / "python3")
    ldd = subprocess.run(["ldd", python], capture_output=True, text=True, check=True).stdout
    for lib in re.findall(r"(/\S+)", ldd):
        dest = root / lib.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(lib, dest)
    shutil.copy2("/bin/busybox", root / "bin" / "busybox")
    os.symlink("busybox", root / "bin" / "sh")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    return root


def tree_bytes(*dirs):
    total = 0
    for d in dirs:
        for p in Path(d).rglob("*"):
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_blocks * 512
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--vm-runs", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tiffin-flake-bench-"))
    run_root = Path(tempfile.mkdtemp(prefix="tfb-", dir="/tmp"))
    node = [TIFFIN, "--root", str(tmp / "root"), "--run-root", str(run_root)]
    bindir = tmp / "bin"
    bindir.mkdir()
    env = dict(os.environ, TIFFIN_FLAKES_DIR=str(tmp / "flakes"))
    results, notes = {}, []
    try:
        rootfs = python_rootfs(tmp / "rootfs")
        subprocess.run(["tar", "-C", rootfs, "-cf", tmp / "rootfs.tar", "."], check=True)
        subprocess.run(node + ["import", str(rootfs), "py"], check=True, stdout=subprocess.DEVNULL)

        def register(name, *extra):
            subprocess.run(node + ["flake", "register", "--app", str(bindir / name), "--image", "py", "--target", "/usr/bin/python3",
                                   *extra], check=True, stdout=subprocess.DEVNULL, env=env)

        register("python3")
        register("python3-resume", "--resume")
        for name in ["python3", "python3-resume"]:
            subprocess.run([bindir / name, "--version"], check=True, stdout=subprocess.DEVNULL, env=env)  # warm
        results["native"] = median_ms(["/usr/bin/python3", "--version"], args.runs)
        results["flake"] = median_ms([bindir / "python3", "--version"], args.runs, env)
        results["resume"] = median_ms([bindir / "python3-resume", "--version"], args.runs, env)
        results["tiffin run"] = median_ms(node + ["run", "--rm", "--network", "none", "py", "/usr/bin/python3", "--version"], args.runs)

        if shutil.which("podman"):
            with Podman(tmp) as pm:
                pm.import_tar(tmp / "rootfs.tar", "py")
                argv = pm.cli("run", "--rm", "--network", "none", "py", "/usr/bin/python3", "--version")
                subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=pm.env)
                results["podman"] = median_ms(argv, args.runs, pm.env)
        else:
            notes.append("podman is not installed: its figure is missing")

        # The microVM: wall time per call, and where the last one's time went.
        if list(Path("/boot").glob("vmlinuz-*")):
            register("python3-vm", "--vm")
            subprocess.run([bindir / "python3-vm", "--version"], check=True, stdout=subprocess.DEVNULL, env=env)
            results["vm"] = median_ms([bindir / "python3-vm", "--version"], args.vm_runs, env)
            debug = subprocess.run([bindir / "python3-vm", "--version"], capture_output=True, text=True,
                                   env=dict(env, PILOT_DEBUG="1"))
            results["vm breakdown"] = debug.stderr.strip().splitlines()[-1] if debug.stderr.strip() else ""
        else:
            notes.append("no kernel in /boot: the microVM figure is missing")

        # Disk: 10 flakes, each an app layer of its own over the same base, merged at registration.
        state = [tmp / "root" / "images", tmp / "root" / "blocks"]
        base_bytes = tree_bytes(*state)
        before = tree_bytes(*state)
        for i in range(10):
            layer = tmp / f"layer{i}"
            (layer / "opt").mkdir(parents=True)
            (layer / "opt" / "tool.sh").write_text(f"echo tool {i}\n")
            subprocess.run(node + ["import", str(layer), f"tool{i}"], check=True, stdout=subprocess.DEVNULL)
            subprocess.run(node + ["flake", "register", "--app", str(bindir / f"tool{i}"), "--image", f"tool{i}", "--base", "py",
                                   "--target", "/bin/sh"], check=True, stdout=subprocess.DEVNULL, env=env)
        out = subprocess.run([bindir / "tool3", "/opt/tool.sh"], capture_output=True, text=True, env=env)
        assert out.stdout == "tool 3\n", out
        results["disk per flake"] = (tree_bytes(*state) - before) / 10
        results["base"] = base_bytes
    finally:
        for yaml in (tmp / "flakes").glob("*.yaml") if (tmp / "flakes").exists() else []:
            subprocess.run(node + ["flake", "remove", "--app", str(bindir / yaml.stem)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ids = subprocess.run(node + ["ps", "-aq"], capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(node + ["rm", "-f", *ids], stdout=subprocess.DEVNULL)
        subprocess.run(node + ["system", "prune", "-a"], stdout=subprocess.DEVNULL)
        shutil.rmtree(run_root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)

    def ratio(a, b):
        return f"{results[a] / results[b]:.3f}×" if a in results and b in results and results[b] else "n/a"

    print(f"python3 --version, median of {args.runs}:")
    print(f"  native          {results['native']:7.1f} ms")
    print(f"  flake           {results['flake']:7.1f} ms   {ratio('flake', 'podman')} podman (goal ≤ 0.15×)")
    print(f"  flake --resume  {results['resume']:7.1f} ms   {ratio('resume', 'native')} native (goal ≤ 3×)")
    print(f"  tiffin run --rm {results['tiffin run']:7.1f} ms   (what a flake's call adds to it: "
          f"{results['flake'] - results['tiffin run']:+.1f} ms)")
    if "podman" in results:
        print(f"  podman run --rm {results['podman']:7.1f} ms")
    if "vm" in results:
        print(f"  microVM flake   {results['vm']:7.1f} ms   median of {args.vm_runs} (goal ≤ 500 ms; Firecracker ~125 ms to user space)")
        print(f"    {results['vm breakdown']}")
    print(f"disk: {results['disk per flake'] / 1024:.1f} KiB added per flake (10 flakes, each a layer over a "
          f"{results['base'] / 1048576:.1f} MiB base, merged at registration)")
    for n in notes:
        print("note: " + n)


if __name__ == "__main__":
    sys.exit(main())
