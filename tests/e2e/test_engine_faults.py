"""Faults in the middle of container lifecycles: kill -9 the CLI, the shim or the image's mount
process at random points, 100 times, for containers on the default network, on a network of
their own and with published ports. Whatever survives, `ps` and `rm -f` still work, and at the
end no mount, cgroup, process, veth, address lease, port rule or namespace of the node is left."""
import glob
import json
import os
import random
import re
import signal
import subprocess
import time

import pytest

from conftest import SANITIZED, TIFFIN, needs_root
from engine import Node, make_busybox_image, processes_with as pids_with, wait_for
from netenv import nft_tables, nft_text, tiffin_links

pytestmark = needs_root

# (fewer under the sanitizers, whose runs are slower: still ten hits of each kind on average)
LIFECYCLES = int(os.environ.get("TIFFIN_FAULT_LIFECYCLES", "40" if SANITIZED else "100"))


def kill9(pids):
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_kill_9_cli_shim_or_mount_at_random_points(tmp_path):
    node = Node(tmp_path)
    rng = random.Random(int(os.environ.get("TIFFIN_FAULT_SEED", "5")))
    seen = set()
    hits = {"cli": 0, "shim": 0, "mount": 0}
    try:
        image = make_busybox_image(node, tmp_path)
        node("run", "--rm", image, "true")  # the image's mount and the default network exist from here on
        node("network", "create", "faults")
        links_before = tiffin_links()
        base = [TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "--dns-upstream", node.dns_upstream]
        for i in range(LIFECYCLES):
            target = rng.choice(["cli", "shim", "mount"])
            delay = rng.uniform(0, 0.12)
            mode = rng.choice(["-d", "fg"])
            net = rng.choice([[], ["--network", "faults"], ["-p", str(49000 + i)], ["--network", "faults", "-p", f"{48000 + i}:80"]])
            argv = base + ["run", "--name", f"f{i}"] + (["-d"] if mode == "-d" else []) + net + [image, "sh", "-c", "echo up; sleep 30"]
            cli = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shims = lambda: pids_with(f"{node.root}/containers/")  # the shim's argv names its config there
            mounts = lambda: [p for p in pids_with("flist") if p in pids_with(str(node.root / "images"))]
            # The shim and the mount are killed at a random point of their own life, however long
            # the CLI takes to get there (sanitizer builds are slow).
            find = {"cli": lambda: [cli.pid] if cli.poll() is None else [], "shim": shims, "mount": mounts}[target]
            deadline = time.time() + 10
            while target != "cli" and not find() and cli.poll() is None and time.time() < deadline:
                time.sleep(0.002)
            time.sleep(delay)
            victims = find()
            kill9(victims)
            hits[target] += bool(victims)
            if mode == "fg" and target != "cli":
                kill9([cli.pid])  # a foreground run would wait 30 s otherwise
            cli.wait(timeout=60)
            # Whatever survived: listed, and removable.
            listing = node.out("ps", "-a", "-q", "--no-trunc", timeout=60).split()
            seen.update(listing)
            for cid in listing:
                node("rm", "-f", cid, timeout=60)
            assert node.out("ps", "-a", "-q") == ""
        assert min(hits.values()) >= LIFECYCLES // 10, f"the faults hit too rarely to mean anything: {hits}"
        # The node still runs containers after all that (a dead mount is mounted again).
        assert node.out("run", "--rm", image, "echo", "alive") == "alive"
        # Nothing of the networks is left: leases, veths, port rules, namespaces.
        for network in ("tiffin", "faults"):
            assert json.loads(node.out("network", "inspect", network))[0]["Containers"] == {}, f"leases left on {network}"
        wait_for(lambda: set(tiffin_links()) <= set(links_before), timeout=10, what="the veths to go")
        assert os.listdir(node.run_root / "netns") == []
        for table in nft_tables():
            assert not re.search(r"map published_\w+ \{[^}]*elements", nft_text(table)), nft_text(table)
    finally:
        leaks = node.teardown()
    assert not leaks, f"mounts or cgroups left behind: {leaks}"
    assert not [d for cid in seen for d in glob.glob(f"/sys/fs/cgroup/*/tiffin/{cid}")], "cgroups left behind"
    wait_for(lambda: not any(pids_with(f"/tiffin/{cid}", in_cgroup=True) for cid in seen), timeout=10,
             what="the containers' processes to go")
    assert not pids_with(str(node.root)), "shim or mount processes left behind"
