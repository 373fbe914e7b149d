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


def test_bind_options_propagation_and_ambient_capabilities(oci, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "file").write_text("from the host\n")
    # A shared mount on the host, so a slave copy has a master to follow.
    subprocess.run(["mount", "--bind", src, src], check=True)
    try:
        subprocess.run(["mount", "--make-shared", src], check=True)

        def edit(c):
            c["mounts"] += [
                {"destination": "/shared", "type": "bind", "source": str(src), "options": ["rbind", "rshared"]},
                {"destination": "/slave", "type": "bind", "source": str(src), "options": ["rbind", "rslave"]},
                {"destination": "/private", "type": "bind", "source": str(src), "options": ["rbind", "rprivate"]},
                {"destination": "/locked", "type": "bind", "source": str(src),
                 "options": ["bind", "ro", "nosuid", "nodev", "noexec"]},
            ]
            c["process"]["user"] = {"uid": 1000, "gid": 1000}
            caps = c["process"]["capabilities"]
            for k in ["inheritable", "ambient"]:
                caps[k] = ["CAP_NET_BIND_SERVICE"]

        b = oci.bundle(args=["sh", "-c", "cat /locked/file; grep -E ' /(shared|slave|private|locked) ' /proc/self/mountinfo;"
                                         " grep CapAmb /proc/self/status; id -u"], edit=edit)
        out = oci("run", "--bundle", b, "bind1").stdout.decode().splitlines()
        assert out[0] == "from the host"
        lines = {line.split()[4]: line for line in out[1:5]}
        assert "shared:" in lines["/shared"].split(" - ")[0]
        assert "master:" in lines["/slave"].split(" - ")[0] and "shared:" not in lines["/slave"].split(" - ")[0]
        assert "shared:" not in lines["/private"] and "master:" not in lines["/private"]
        assert set(lines["/locked"].split()[5].split(",")) >= {"ro", "nosuid", "nodev", "noexec"}
        assert out[5].split() == ["CapAmb:", "0000000000000400"] and out[6] == "1000"
    finally:
        subprocess.run(["umount", "-l", src])


def test_start_container_hook_runs_inside(oci):
    def edit(c):
        c["hooks"] = {"startContainer": [{"path": "/bin/touch", "args": ["touch", "/dev/shm/started"]}]}

    b = oci.bundle(args=["ls", "/dev/shm/started"], edit=edit)
    assert oci("run", "--bundle", b, "sc1").stdout == b"/dev/shm/started\n"
