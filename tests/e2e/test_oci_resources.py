"""Every linux.resources field on every cgroup layout: applied and read back from the container's
cgroup files, or refused with a message naming the field — never run without a limit that was
asked for. Hybrid is this machine's own layout; pure v1 (its cgroup2 mount hidden) and pure v2
(cgroup2 at /sys/fs/cgroup, v1 hidden, so only hugetlb is there) are made in private mount
namespaces, as in test_oci_cgroup_layouts.py. This file is also the helper run inside them."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oci import Oci, become_subreaper  # noqa: E402

LAYOUTS = {
    "hybrid": "true",
    "v1": "umount /sys/fs/cgroup/unified",
    "v2": "for m in $(awk '$9 == \"cgroup\" || $9 == \"cgroup2\" {print $5}' /proc/self/mountinfo | sort -r); "
          "do umount $m; done; umount /sys/fs/cgroup; mount -t cgroup2 none /sys/fs/cgroup",
}


def block_device():
    """A block device of this machine (major, minor, name), for the blockIO rules."""
    for name in sorted(os.listdir("/sys/block")):
        if not name.startswith(("loop", "ram", "zram", "nbd")):
            major, minor = Path(f"/sys/block/{name}/dev").read_text().split(":")
            return int(major), int(minor), name
    pytest.skip("no block device")


def blkio_weights():
    """Whether this kernel's blkio controller has weight files at all (BFQ's, or CFQ's on old
    kernels): a kernel built without BFQ has neither, and tiffin-oci refuses weights there."""
    root = Path("/sys/fs/cgroup/blkio")
    return any((root / f).exists() for f in ("blkio.bfq.weight", "blkio.weight"))


def cases():
    """(name, linux.resources, {layout: expectation}); an expectation is ("file", controller,
    file, text the file must hold), ("ok",) when nothing is left to read, or ("refused", text of
    the error). The controller is v1's, or "unified" for the v2 hierarchy."""
    major, minor, name = block_device()
    dev = f"{major}:{minor}"
    bfq = "[bfq]" in Path(f"/sys/block/{name}/queue/scheduler").read_text()

    def v1(controller, file, text, v2_refusal):
        return {"hybrid": ("file", controller, file, text), "v1": ("file", controller, file, text), "v2": ("refused", v2_refusal)}

    def everywhere(refusal):
        return {layout: ("refused", refusal) for layout in LAYOUTS}

    v2_lacks = "the cgroup v2 hierarchy has no {}"
    out = [
        ("memory.limit", {"memory": {"limit": 64 << 20}}, v1("memory", "memory.limit_in_bytes", "67108864", v2_lacks.format("memory"))),
        ("memory.reservation", {"memory": {"reservation": 32 << 20}},
         v1("memory", "memory.soft_limit_in_bytes", "33554432", v2_lacks.format("memory"))),
        ("memory.swap", {"memory": {"limit": 64 << 20, "swap": 128 << 20}},
         v1("memory", "memory.memsw.limit_in_bytes", "134217728", v2_lacks.format("memory"))),
        # Linux >= 5.16 takes memory.kmem.limit_in_bytes and limits nothing.
        ("memory.kernel", {"memory": {"kernel": 1 << 20}},
         {"hybrid": ("refused", "does not enforce it"), "v1": ("refused", "does not enforce it"),
          "v2": ("refused", "no kernel memory limit")}),
        ("memory.kernelTCP", {"memory": {"kernelTCP": 1 << 20}},
         v1("memory", "memory.kmem.tcp.limit_in_bytes", "1048576", "no separate TCP memory limit")),
        ("memory.swappiness", {"memory": {"swappiness": 30}}, v1("memory", "memory.swappiness", "30", "no per-cgroup swappiness")),
        ("memory.disableOOMKiller", {"memory": {"disableOOMKiller": True}},
         v1("memory", "memory.oom_control", "oom_kill_disable 1", "cannot disable the OOM killer")),
        ("memory.useHierarchy", {"memory": {"useHierarchy": True}},
         dict(v1("memory", "memory.use_hierarchy", "1", ""), v2=("ok",))),
        ("cpu.shares", {"cpu": {"shares": 512}}, v1("cpu", "cpu.shares", "512", v2_lacks.format("cpu"))),
        ("cpu.quota", {"cpu": {"quota": 50000, "period": 200000}}, v1("cpu", "cpu.cfs_quota_us", "50000", v2_lacks.format("cpu"))),
        ("cpu.period", {"cpu": {"period": 200000}}, v1("cpu", "cpu.cfs_period_us", "200000", v2_lacks.format("cpu"))),
        ("cpu.burst", {"cpu": {"quota": 50000, "burst": 1000}}, v1("cpu", "cpu.cfs_burst_us", "1000", v2_lacks.format("cpu"))),
        ("cpu.realtimePeriod", {"cpu": {"realtimePeriod": 500000, "realtimeRuntime": 0}},
         v1("cpu", "cpu.rt_period_us", "500000", "no real-time CPU bandwidth")),
        ("cpu.idle", {"cpu": {"idle": 1}}, v1("cpu", "cpu.idle", "1", v2_lacks.format("cpu"))),
        ("cpu.cpus", {"cpu": {"cpus": "0"}}, v1("cpuset", "cpuset.cpus", "0", v2_lacks.format("cpuset"))),
        ("cpu.mems", {"cpu": {"mems": "0"}}, v1("cpuset", "cpuset.mems", "0", v2_lacks.format("cpuset"))),
        ("pids.limit", {"pids": {"limit": 64}}, v1("pids", "pids.max", "64", v2_lacks.format("pids"))),
        # v2 enforces devices with eBPF, which tiffin does not load yet: not covered there.
        ("devices", {"devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 10, "minor": 229,
                                                                     "access": "rw"}]},
         {"hybrid": ("file", "devices", "devices.list", "c 10:229 rw"), "v1": ("file", "devices", "devices.list", "c 10:229 rw")}),
        ("blockIO.weight", {"blockIO": {"weight": 500}},
         v1("blkio", "blkio.bfq.weight", "500", v2_lacks.format("io")) if blkio_weights() else
         {"hybrid": ("refused", "no blkio.weight nor blkio.bfq.weight"), "v1": ("refused", "no blkio.weight nor blkio.bfq.weight"),
          "v2": ("refused", v2_lacks.format("io"))}),
        ("blockIO.leafWeight", {"blockIO": {"leafWeight": 500}},
         {"hybrid": ("refused", "no blkio.leaf_weight"), "v1": ("refused", "no blkio.leaf_weight"), "v2": ("refused", "no leaf weights")}),
        ("blockIO.weightDevice", {"blockIO": {"weightDevice": [{"major": major, "minor": minor, "weight": 300}]}},
         v1("blkio", "blkio.bfq.weight_device", f"{dev} 300", v2_lacks.format("io")) if bfq else
         {"hybrid": ("refused", "Operation not supported"), "v1": ("refused", "Operation not supported"),
          "v2": ("refused", v2_lacks.format("io"))} if blkio_weights() else
         {"hybrid": ("refused", "no blkio.weight_device nor blkio.bfq.weight_device"),
          "v1": ("refused", "no blkio.weight_device nor blkio.bfq.weight_device"), "v2": ("refused", v2_lacks.format("io"))}),
    ]
    for key, file in [("throttleReadBpsDevice", "read_bps_device"), ("throttleWriteBpsDevice", "write_bps_device"),
                      ("throttleReadIOPSDevice", "read_iops_device"), ("throttleWriteIOPSDevice", "write_iops_device")]:
        out.append((f"blockIO.{key}", {"blockIO": {key: [{"major": major, "minor": minor, "rate": 1048576}]}},
                    v1("blkio", f"blkio.throttle.{file}", f"{dev} 1048576", v2_lacks.format("io"))))
    out += [
        # hugetlb is only in the unified hierarchy here.
        ("hugepageLimits", {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}]},
         {"hybrid": ("file", "unified", "hugetlb.2MB.max", "4194304"), "v2": ("file", "unified", "hugetlb.2MB.max", "4194304"),
          "v1": ("refused", "the hugetlb controller is not mounted")}),
        ("network.classID", {"network": {"classID": 0x100001}}, everywhere("net_cls")),
        ("network.priorities", {"network": {"priorities": [{"name": "lo", "priority": 3}]}}, everywhere("net_prio")),
        ("rdma", {"rdma": {"mlx5_0": {"hcaHandles": 3}}}, everywhere("rdma")),
        ("unified", {"unified": {"hugetlb.2MB.max": "2097152"}},
         {"hybrid": ("file", "unified", "hugetlb.2MB.max", "2097152"), "v2": ("file", "unified", "hugetlb.2MB.max", "2097152"),
          "v1": ("refused", "no cgroup v2 hierarchy")}),
    ]
    return out


def cgroup_file(layout, controller, cgroup, file):
    if layout == "v2":
        return f"/sys/fs/cgroup{cgroup}/{file}"
    return f"/sys/fs/cgroup/{controller}{cgroup}/{file}"


def inside(layout, tmp, binary):
    """Runs in the layout's mount namespace: each case's container, its cgroup file read while it
    runs, or its error. Prints {case: {"rc", "err", "text"}} as JSON."""
    become_subreaper()
    o = Oci(Path(tmp), binary=binary)
    results = {}
    for name, resources, want in cases():
        if layout not in want:
            continue
        cid = name.replace(".", "-").lower()
        b = o.bundle(name=cid, args=["sleep", "60"], edit=lambda c, r=resources: c["linux"]["resources"].update(r))
        p = o("run", "-d", "--bundle", b, cid, rc=None)
        text = None
        if p.returncode == 0 and want[layout][0] == "file":
            _, controller, file, _ = want[layout]
            try:
                text = Path(cgroup_file(layout, controller, o.cgroup_parent + "/" + cid, file)).read_text()
            except OSError as e:
                text = f"<{e}>"
        o("delete", "--force", cid, rc=None)
        results[name] = {"rc": p.returncode, "err": p.stderr.decode(), "text": text}
    results["leftovers"] = o.cleanup()
    print(json.dumps(results))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_resource_is_applied_or_refused(tmp_path, layout):
    binary = Oci(tmp_path).binary
    script = f"set -e\n{LAYOUTS[layout]}\nexec /usr/bin/python3 {__file__} --inside {layout} {tmp_path} {binary}\n"
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    results = json.loads(p.stdout.decode().splitlines()[-1])
    assert results.pop("leftovers") == []
    failures = []
    for name, _, want in cases():
        if layout not in want:
            continue
        got, expect = results[name], want[layout]
        if expect[0] == "refused":
            ok = got["rc"] == 1 and f"linux.resources.{name.split('.')[0]}" in got["err"] and expect[1] in got["err"]
        elif expect[0] == "ok":
            ok = got["rc"] == 0
        else:
            ok = got["rc"] == 0 and got["text"] is not None and expect[3] in got["text"]
        if not ok:
            failures.append(f"{name}: wanted {expect}, got {got}")
    assert not failures, "\n".join(failures)


if __name__ == "__main__" and sys.argv[1:2] == ["--inside"]:
    inside(*sys.argv[2:5])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_update_applies_the_new_fields_or_refuses_them(tmp_path):
    become_subreaper()
    o = Oci(tmp_path)
    b = o.bundle(args=["sleep", "4242"])
    o("run", "-d", "--bundle", b, "u1")
    try:
        weights = blkio_weights()  # a kernel without BFQ has no blkio weights to update
        (tmp_path / "r.json").write_text(json.dumps({"memory": {"swappiness": 20}, **({"blockIO": {"weight": 300}} if weights else {})}))
        o("update", "-r", tmp_path / "r.json", "u1")
        cg = o.cgroup_parent + "/b"
        assert Path(f"/sys/fs/cgroup/memory{cg}/memory.swappiness").read_text().strip() == "20"
        if weights:
            assert "300" in Path(f"/sys/fs/cgroup/blkio{cg}/blkio.bfq.weight").read_text()
        else:
            (tmp_path / "r.json").write_text(json.dumps({"blockIO": {"weight": 300}}))
            err = o("update", "-r", tmp_path / "r.json", "u1", rc=1).stderr.decode()
            assert "blockIO.weight cannot be honoured" in err, err
        (tmp_path / "r.json").write_text(json.dumps({"network": {"classID": 1}}))
        err = o("update", "-r", tmp_path / "r.json", "u1", rc=1).stderr.decode()
        assert "linux.resources.network.classID cannot be honoured" in err, err
    finally:
        o("delete", "--force", "u1", rc=None)
        assert o.cleanup() == []
