#!/usr/bin/env python3
"""Registry images converted on the hub, against converting them on the node.

On loopback: a registry (Debian's Distribution) holding an image built byte by byte (busybox, a
data layer of --data-mib MiB that the command never reads, a marker file the command prints),
and a `tiffin hub serve`. Timed, medians of --runs runs:
  convert     PUT /api/flist/alice/app:1 {"image": …} on a fresh hub: the hub pulls and converts
  hub run     on a fresh node: `tiffin run HUB/alice/app:1` (lazy: fetches the blocks it reads)
  hub run+cv  on a fresh node: `tiffin run --hub HUB/alice REF` (found converted, then as above)
  pull+run    on a fresh node: `tiffin pull REF` from the registry (downloads and converts
              every layer), then `tiffin run REF`
"Time to first output" is from the start of the commands until the container's output arrived.
Needs root. Only 127.0.0.1 traffic.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
os.environ.setdefault("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))

from conftest import TIFFIN  # noqa: E402
from engine import Node  # noqa: E402
from ociimage import Layout, busybox_members  # noqa: E402
from registry import Registry  # noqa: E402
from test_hub import Hub  # noqa: E402


def make_image(tmp: Path, data_mib: int):
    lay = Layout(tmp / "layout")
    base = lay.layer(busybox_members())
    # Incompressible but cheap to make: a repeated random MiB would compress, so hash a counter.
    import hashlib
    chunk = b"".join(hashlib.sha512(i.to_bytes(8, "little")).digest() for i in range(16384))  # 1 MiB
    data = lay.layer([("dir", "data", 0o755)] + [("file", f"data/f{i}", chunk[i:] + chunk[:i], 0o644) for i in range(data_mib)])
    top = lay.layer([("file", "marker", b"ready", 0o644)])
    lay.tag(lay.image([base, data, top], {"Cmd": ["cat", "/marker"]}), "latest")
    return lay


def convert(hub, token, ref):
    req = urllib.request.Request(f"{hub.url}/api/flist/alice/app:1", data=json.dumps({"image": ref}).encode(), method="PUT")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    start = time.monotonic()
    with urllib.request.urlopen(req, timeout=600) as r:
        body = json.loads(r.read())
    return time.monotonic() - start, body


def timed_node(tmp: Path, *commands, env=None):
    """Runs tiffin commands in order on a fresh node; the time until the last one's output."""
    node = Node(tmp)
    try:
        start = time.monotonic()
        out = ""
        for args in commands:
            out = node.out(*args, env=env, timeout=600)
        elapsed = time.monotonic() - start
        assert out.endswith("ready"), out
        return elapsed
    finally:
        node.teardown()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data-mib", type=int, default=64)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    with tempfile.TemporaryDirectory(prefix="hubconv-bench-") as d:
        tmp = Path(d)
        registry = Registry(tmp / "registry")
        hubs = []
        try:
            ref = registry.push(make_image(tmp, args.data_mib).dir, "latest", "bench/app:1")
            conv, hub_run, hub_run_cv, pull_run = [], [], [], []
            for i in range(args.runs):
                hub = Hub(tmp / f"hub{i}").start()
                hubs.append(hub)
                token = hub.token("alice")
                t, body = convert(hub, token, ref)
                assert body["converted"] is True
                conv.append(t)
                again, body = convert(hub, token, ref)
                assert body["converted"] is False
                hub_run.append(timed_node(tmp / f"n-hub{i}", ("run", "--rm", "--network", "none", f"{hub.url}/alice/app:1")))
                env = dict(os.environ, TIFFIN_HUB_TOKEN=token)
                hub_run_cv.append(timed_node(tmp / f"n-hubcv{i}",
                                             ("run", "--rm", "--network", "none", "--hub", f"{hub.url}/alice", ref), env=env))
                pull_run.append(timed_node(tmp / f"n-reg{i}", ("pull", "-q", ref), ("run", "--rm", "--network", "none", ref)))
                hub.stop()
            med = statistics.median
            print(f"image: busybox + {args.data_mib} MiB unread data + marker; {args.runs} runs, medians; tiffin {TIFFIN}")
            print(f"  hub conversion (cold)                 {med(conv):7.2f} s")
            print(f"  hub conversion again (found)          {again:7.3f} s (last run)")
            print(f"  first output, run from hub flist      {med(hub_run):7.2f} s")
            print(f"  first output, run --hub (found)       {med(hub_run_cv):7.2f} s")
            print(f"  first output, pull from registry+run  {med(pull_run):7.2f} s")
            print(f"  ratio pull+run / hub run              {med(pull_run) / med(hub_run):7.1f}x")
        finally:
            for h in hubs:
                h.stop()
            registry.stop()


if __name__ == "__main__":
    main()
