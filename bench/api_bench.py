#!/usr/bin/env python3
"""`tiffin serve` against dockerd, driven by the same docker CLI binary, in one run:

  run      `docker run --rm --network none IMAGE true` through each, median of --runs (the docker
           CLI's own start is in both)
  ps       `docker ps` with --containers idle containers through each
  list     GET /containers/json latency, p50 and p99, under 8 concurrent clients (raw HTTP on the
           unix socket, --requests each)
  memory   idle: the server's RSS (tiffin serve) vs dockerd + containerd, before any container

Ratios are tiffin / docker. Goal (issue 16): run ≤ 0.3× docker. Needs root and dockerd (Debian's
docker.io); everything it starts it stops.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "bench"))
from dockerd import Docker  # noqa: E402
from engine_bench import mem_kb, pids_named, rootfs, timed  # noqa: E402

TIFFIN = os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))
DOCKER_CLI = os.environ.get("DOCKER_CLI", "/usr/local/bin/docker" if os.path.exists("/usr/local/bin/docker") else "docker")


def get(sock_path, path):
    """One GET over a fresh connection; the milliseconds it took."""
    t = time.perf_counter()
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock_path)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n".encode())
        while s.recv(1 << 16):
            pass
    return (time.perf_counter() - t) * 1000


def list_latency(sock_path, clients, requests):
    times, lock = [], threading.Lock()

    def client():
        mine = [get(sock_path, "/v1.41/containers/json?all=1") for _ in range(requests)]
        with lock:
            times.extend(mine)
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--containers", type=int, default=200)
    ap.add_argument("--requests", type=int, default=25)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tiffin-api-bench-"))
    run_root = Path(tempfile.mkdtemp(prefix="tfa-", dir="/tmp"))
    sock = str(tmp / "tiffin.sock")
    node = [TIFFIN, "--root", str(tmp / "root"), "--run-root", str(run_root)]
    serve = None
    docker = Docker(tmp)
    res = {}
    try:
        r = rootfs(tmp)
        subprocess.run(node + ["import", str(r), "bb"], check=True, stdout=subprocess.DEVNULL)
        serve = subprocess.Popen(node + ["serve", "-H", f"unix://{sock}"], stderr=subprocess.DEVNULL, start_new_session=True)
        while not os.path.exists(sock):
            time.sleep(0.02)
        time.sleep(0.2)
        res["tiffin idle kB"] = mem_kb(serve.pid)[0]
        tenv = dict(os.environ, DOCKER_HOST=f"unix://{sock}")
        cli = [DOCKER_CLI]
        subprocess.run(cli + ["run", "--rm", "--network", "none", "bb", "true"], check=True, env=tenv)  # warm: the image's mount
        res["tiffin run"] = timed(cli + ["run", "--rm", "--network", "none", "bb", "true"], args.runs, tenv)

        if not docker.start():
            print("dockerd did not start: docker figures skipped", file=sys.stderr)
            denv = None
        else:
            denv = dict(os.environ, DOCKER_HOST=docker.sock)
            time.sleep(1)
            res["docker idle kB"] = sum(mem_kb(p)[0] for p in pids_named("dockerd") + pids_named("containerd"))
            subprocess.run(cli + ["import", str(tmp / "rootfs.tar"), "bb"], check=True, stdout=subprocess.DEVNULL, env=denv)
            subprocess.run(cli + ["run", "--rm", "--network", "none", "bb", "true"], check=True, env=denv)
            res["docker run"] = timed(cli + ["run", "--rm", "--network", "none", "bb", "true"], args.runs, denv)

        for name, env, path in (("tiffin", tenv, sock), ("docker", denv, docker.sock[len("unix://"):])):
            if env is None:
                continue
            for i in range(args.containers):
                subprocess.run(cli + ["run", "-d", "--network", "none", "--name", f"idle{i}", "bb", "sleep", "100000"], check=True,
                               stdout=subprocess.DEVNULL, env=env)
            res[f"{name} ps"] = timed(cli + ["ps"], args.runs, env)
            res[f"{name} list p50"], res[f"{name} list p99"] = list_latency(path, 8, args.requests)
            subprocess.run(cli + ["rm", "-f", *[f"idle{i}" for i in range(args.containers)]], stdout=subprocess.DEVNULL, env=env)
    finally:
        if serve:
            serve.terminate()
            serve.wait(30)
        docker.stop()
        subprocess.run(node + ["system", "prune", "-a", "--volumes"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    print(f"{'':28}{'tiffin':>12}{'docker':>12}{'ratio':>10}")
    for key, unit in (("run", "ms"), ("ps", "ms"), ("list p50", "ms"), ("list p99", "ms"), ("idle kB", "kB")):
        t, d = res.get(f"tiffin {key}"), res.get(f"docker {key}")
        ratio = f"{t / d:.2f}x" if t and d else "-"
        print(f"{key + ' (' + unit + ')':28}{t if t is not None else '-':>12.1f}{d if d is not None else float('nan'):>12.1f}{ratio:>10}")


if __name__ == "__main__":
    main()
