"""The rest of what config.json can ask for, each checked from inside the container: a time
namespace, a network namespace joined by path, no pivot_root, sysctls, oom_score_adj, rlimits,
umask, additional groups, extra devices and the domain name."""
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import needs_root
from oci import Oci, become_subreaper

pytestmark = needs_root


@pytest.fixture
def oci(tmp_path):
    become_subreaper()
    o = Oci(tmp_path)
    yield o
    assert o.cleanup() == []


@pytest.fixture
def netns():
    name = "tiffin-e2e-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True)
    yield f"/run/netns/{name}"
    subprocess.run(["ip", "netns", "delete", name], check=True)


def test_spec_settings_reach_the_process(oci, netns):
    def edit(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
        c["linux"]["namespaces"] += [{"type": "network", "path": netns}, {"type": "time"}]
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "12345678"}
        c["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o600}]
        c["linux"]["resources"]["devices"].append({"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"})
        c["domainname"] = "example.test"
        c["process"]["oomScoreAdj"] = 500
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]
        c["process"]["user"].update(umask=0o027, additionalGids=[44, 55])

    script = ("readlink /proc/self/ns/net; readlink /proc/self/ns/time; cat /proc/sys/net/ipv4/ip_forward "
              "/proc/sys/kernel/shmmax /proc/self/oom_score_adj; cat /proc/sys/kernel/domainname; "
              "grep 'open files' /proc/self/limits; umask; grep Groups /proc/self/status; stat -c '%t:%T %a' /dev/fuse")
    b = oci.bundle(args=["sh", "-c", script], edit=edit)
    out = oci("run", "--bundle", b, "f1").stdout.decode().splitlines()
    assert out[0] == "net:[%d]" % os.stat(netns).st_ino
    assert out[1].startswith("time:[") and out[1] != os.readlink("/proc/self/ns/time")
    assert out[2:6] == ["1", "12345678", "500", "example.test"]
    assert out[6].split()[3:5] == ["321", "654"]
    assert out[7] == "0027"
    assert out[8].split()[1:] == ["44", "55"]
    assert out[9] == "a:e5 600"
    # The sysctl went to the joined namespace, not the host's.
    assert subprocess.run(["ip", "netns", "exec", Path(netns).name, "cat", "/proc/sys/net/ipv4/ip_forward"],
                          capture_output=True, check=True).stdout == b"1\n"


def test_no_pivot_mode(oci):
    b = oci.bundle(args=["sh", "-c", "cat /only-in-this-rootfs; touch /x 2>&1; true"])
    (b / "rootfs" / "only-in-this-rootfs").write_text("marker\n")
    out = oci("run", "--no-pivot", "--bundle", b, "np").stdout.decode()
    assert out.startswith("marker\n") and "Read-only file system" in out
    b2 = oci.bundle(name="b2", args=["sleep", "60"], edit=lambda c: c["process"].update(cwd="/made/for/you"))
    (b2 / "rootfs" / "only-in-this-rootfs").write_text("marker2\n")
    oci("run", "-d", "--no-pivot", "--bundle", b2, "np2")
    assert oci("exec", "np2", "sh", "-c", "cat /only-in-this-rootfs; pwd").stdout == b"marker2\n/made/for/you\n"
    oci("delete", "--force", "np2")
