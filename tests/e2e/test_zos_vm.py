"""A Zero-OS node in a local VM (tiffin node vm init/ls/stop/rm), as root: the host's Debian
kernel boots an initramfs of this tiffin under qemu, its `tiffin serve --zos` answers on a
loopback port, and a container runs there through --node.

KVM is used with TIFFIN_VM_ACCEL=kvm; the default is qemu's emulation (tcg) because on hosts that
are themselves VMs (this project's CI machines: Firecracker) nested KVM hangs right after the
kernel decompresses. Skipped, saying why, where qemu or a kernel with modules is missing, or
(with kvm) where /dev/kvm is."""
import glob
import json
import os
import shutil

import pytest

from conftest import needs_root, release_only
from engine import node  # noqa: F401 (fixture)

ACCEL = os.environ.get("TIFFIN_VM_ACCEL", "tcg")
missing = [w for w, ok in [("qemu-system-x86_64 (qemu-system-x86)", shutil.which("qemu-system-x86_64")),
                           ("a kernel in /boot with its modules (linux-image-amd64)",
                            any(os.path.isdir("/lib/modules/" + k[len("/boot/vmlinuz-"):]) for k in glob.glob("/boot/vmlinuz-*"))),
                           ("/dev/kvm", ACCEL != "kvm" or os.path.exists("/dev/kvm"))] if not ok]
pytestmark = [needs_root, release_only,  # minutes of an emulated guest: once, in the release build
              pytest.mark.skipif(bool(missing), reason="no VM here: missing " + ", ".join(missing))]


def test_vm_node_boots_answers_and_runs_a_container(node, tmp_path):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"))

    def cli(*args, rc=0, timeout=60):
        return node(*args, rc=rc, env=env, timeout=timeout)

    vm_dir = tmp_path / "data" / "tiffin" / "vms" / "t1"
    try:
        out = cli("node", "vm", "init", "--name", "t1", "--memory", "768", "--disk", "256", "--accel", ACCEL, "--timeout", "240",
                  timeout=300).stdout.decode()
        assert "answers on 127.0.0.1:" in out, out
        assert (vm_dir / "disk.img").stat().st_size == 256 << 20
        assert "t1" in cli("node", "vm", "ls").stdout.decode() and "running" in cli("node", "vm", "ls").stdout.decode()
        # Registered as a node, with the admin token the host made (the guest has only its hash).
        nodes = json.loads((tmp_path / "cfg" / "tiffin" / "nodes.json").read_text())["nodes"]
        assert nodes["t1"]["url"].startswith("http://127.0.0.1:") and len(nodes["t1"]["token"]) == 64
        assert b"pong from t1" in cli("node", "ping", "--node", "t1").stdout
        assert nodes["t1"]["token"].encode() not in (vm_dir / "console.log").read_bytes()
        info = json.loads(cli("node", "info", "--node", "t1", "--format", "json").stdout)
        assert info["cpus"] == 1 and 600 << 20 < info["memory"] <= 768 << 20
        # A container runs on it (busybox comes with the VM's image).
        p = cli("--node", "t1", "run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo in-the-vm $(uname -r)", timeout=120)
        assert p.stdout.decode().startswith("in-the-vm "), p.stdout
        assert "fc" not in p.stdout.decode().split()[1]  # the guest's kernel, not the host's
        # A wrong token is refused there too.
        nodes["t1"]["token"] = "0" * 64
        (tmp_path / "cfg" / "tiffin" / "nodes.json").write_text(json.dumps({"nodes": nodes}))
        assert b"401" in cli("node", "info", "--node", "t1", rc=2).stderr
        cli("node", "vm", "stop", "t1")
        assert "stopped" in cli("node", "vm", "ls").stdout.decode()
    finally:
        cli("node", "vm", "rm", "t1", rc=None)
    assert not vm_dir.exists()
    assert "t1" not in (tmp_path / "cfg" / "tiffin" / "nodes.json").read_text()
