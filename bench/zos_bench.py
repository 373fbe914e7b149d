#!/usr/bin/env python3
"""Zero-OS workloads on a tiffin node, in one run (issue 17's measurements):

  latency      a workload deployed to running (its flist already on the node), median of --runs:
               POST /zos/v1/workloads of a signed request to `tiffin serve --zos`, and the whole
               `tiffin deploy` command (it signs and encrypts, then deploys daemonless) — against
               `tiffin run -d` of the same image with the same limits (the peer: no signature,
               no result)
  concurrent   --workloads workloads posted by --clients concurrent clients to the API:
               throughput, p50/p99, and that every one is running (nothing lost); then all
               deleted the same way
  vm           with --vm-runs N: `tiffin node vm init` to the first answer of the node's API,
               median of N (--accel: kvm, or tcg where nested KVM cannot boot a guest)

Ratios are deploy / run. Needs root; everything it starts it removes.
"""
import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from engine_bench import rootfs  # noqa: E402
from conftest import free_port, wait_port  # noqa: E402

TIFFIN = os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))


class Node:
    def __init__(self, tmp):
        self.root, self.run_root = tmp / "root", Path(tempfile.mkdtemp(prefix="tfz-", dir="/tmp"))

    def __call__(self, *args, check=True):
        p = subprocess.run([TIFFIN, "--root", self.root, "--run-root", self.run_root, "--dns-upstream", "127.0.0.1:9", *map(str, args)],
                           capture_output=True, text=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"tiffin {args}: {p.stderr}")
        return p.stdout.strip()


def workload(path, wid):
    path.write_text(json.dumps({"workload_id": wid, "flist": "bb", "entrypoint": "sleep 100000",
                                "capacity": {"cpu": 1, "memory": 64, "disk_size": 0, "disk_type": "ssd"}}))
    return path


def post(port, method, path, body=None, auth=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": auth} if auth else {}
    t = time.perf_counter()
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    ms = (time.perf_counter() - t) * 1000
    c.close()
    return r.status, json.loads(data), ms


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--workloads", type=int, default=100)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--vm-runs", type=int, default=0)
    ap.add_argument("--accel", default="tcg")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zos-bench-"))
    node = Node(tmp)
    serve = None
    try:
        r = rootfs(tmp)
        node("import", r, "bb", "--cmd", "sh")
        seed = tmp / "user.seed"
        node("node", "users", "add", 7, "--key", node("node", "keygen", seed))
        token = node("node", "token")
        port = free_port()
        serve = subprocess.Popen([TIFFIN, "--root", node.root, "--run-root", node.run_root, "--dns-upstream", "127.0.0.1:9", "serve",
                                  "-H", f"unix://{tmp}/api.sock", "--zos", f"tcp://127.0.0.1:{port}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)
        admin = "Bearer " + token

        def signed(wid):
            return node("deploy", workload(tmp / f"w{wid}.json", wid), "--user", 7, "--key", seed, "--sign-only")

        # ---- latency: deploy to running vs run -d, interleaved so noise hits both alike
        run_ms, api_ms, cli_ms = [], [], []
        for i in range(a.runs):
            t = time.perf_counter()
            node("run", "-d", "--name", f"r{i}", "--network", "none", "--cpus", "1", "--memory", "64m", "bb", "sleep", "100000")
            run_ms.append((time.perf_counter() - t) * 1000)
            node("rm", "-f", f"r{i}")
            req = signed(1000 + i)
            status, res, ms = post(port, "POST", "/zos/v1/workloads", req)
            assert status == 200 and res["state"] == "ok", res
            api_ms.append(ms)
            post(port, "DELETE", f"/zos/v1/workloads/{1000 + i}", auth=admin)
            t = time.perf_counter()
            res = json.loads(node("deploy", workload(tmp / "c.json", 1500 + i), "--user", 7, "--key", seed))
            cli_ms.append((time.perf_counter() - t) * 1000)
            assert res["state"] == "ok", res
            node("deploy", "--delete", 1500 + i)
        run, api, cli = statistics.median(run_ms), statistics.median(api_ms), statistics.median(cli_ms)
        print(f"latency (median of {a.runs}): tiffin run -d {run:.1f} ms | deploy via API {api:.1f} ms ({api / run:.2f}x) | "
              f"tiffin deploy {cli:.1f} ms ({cli / run:.2f}x)")

        # ---- concurrent: N workloads from C clients
        reqs = [(2000 + i, signed(2000 + i)) for i in range(a.workloads)]
        lat, failed, lock = [], [], threading.Lock()

        def client(mine, method):
            for wid, body in mine:
                if method == "POST":
                    status, res, ms = post(port, "POST", "/zos/v1/workloads", body)
                else:
                    status, res, ms = post(port, "DELETE", f"/zos/v1/workloads/{wid}", auth=admin)
                with lock:
                    lat.append(ms)
                    if status != 200 or res.get("state") not in ("ok", "deleted"):
                        failed.append((wid, status, res.get("message")))

        for method in ("POST", "DELETE"):
            lat.clear()
            threads = [threading.Thread(target=client, args=(reqs[c::a.clients], method)) for c in range(a.clients)]
            t = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall = time.perf_counter() - t
            running = len(node("ps", "-q").split())
            what = "deploy" if method == "POST" else "delete"
            print(f"{what} {a.workloads} workloads, {a.clients} clients: {a.workloads / wall:.1f}/s, p50 {pct(lat, 0.5):.0f} ms, "
                  f"p99 {pct(lat, 0.99):.0f} ms, failed {len(failed)}, running after: {running}")
            assert not failed, failed[:3]
            assert running == (a.workloads if method == "POST" else 0)

        # ---- vm: init to the node API's first answer
        vm_s = []
        env = dict(os.environ, XDG_CONFIG_HOME=str(tmp / "cfg"), XDG_DATA_HOME=str(tmp / "data"))
        for i in range(a.vm_runs):
            t = time.perf_counter()
            p = subprocess.run([TIFFIN, "node", "vm", "init", "--name", f"b{i}", "--memory", "768", "--disk", "256", "--accel", a.accel,
                                "--timeout", "240"], capture_output=True, text=True, env=env)
            vm_s.append(time.perf_counter() - t)
            subprocess.run([TIFFIN, "node", "vm", "rm", f"b{i}"], capture_output=True, env=env)
            assert p.returncode == 0, p.stderr[-2000:]
        if vm_s:
            print(f"vm init to first answer ({a.accel}, median of {a.vm_runs}): {statistics.median(vm_s):.1f} s")
    finally:
        if serve:
            serve.terminate()
            serve.wait()
        for cid in node("ps", "-a", "-q", check=False).split():
            node("rm", "-f", cid, check=False)
        node("system", "prune", "-a", "-f", check=False)
        shutil.rmtree(node.run_root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
