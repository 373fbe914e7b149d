"""Helpers for the runtime tests: busybox bundles, tiffin-oci invocations, and a check that a
test left no container, cgroup, mount or process behind."""
import ctypes
import glob
import json
import os
import shutil
import subprocess
import time
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OCI = os.environ.get("TIFFIN_OCI_BIN", str(ROOT / "build" / "apps" / "tiffin-oci"))
APPLETS = ["sh", "true", "false", "echo", "cat", "id", "sleep", "ps", "ls", "mount", "unshare", "hostname",
           "touch", "grep", "head", "wc", "tty", "env", "pwd", "stat", "kill", "readlink"]


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Containers' inits outlive the runtime and are reparented to us, as to conmon or a shim."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def stop_being_subreaper():
    """After reap(): orphans go to init again. A test session that stays a subreaper collects
    the zombies of every later test's daemons (the engine's shims), which then look alive to
    the tests waiting for them to go."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def busybox_rootfs(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    for d in ["etc", "proc", "sys", "dev", "tmp", "root"]:
        (root / d).mkdir()
    shutil.copy2("/bin/busybox", root / "bin" / "busybox")
    for a in APPLETS:
        os.symlink("busybox", root / "bin" / a)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n")
    return root


class Oci:
    """tiffin-oci with its own --root; `cgroup_parent` names this test's cgroups."""

    def __init__(self, tmp: Path, binary=OCI):
        self.binary = binary
        self.root = tmp / "state"
        self.tmp = tmp
        self.cgroup_parent = "/tiffin-e2e-" + uuid.uuid4().hex[:10]

    def __call__(self, *args, rc=0, input=None, timeout=60, extra=()):
        # Files, not pipes: a created container keeps the stdio it inherited open, and waiting
        # for end of file on a pipe would wait for the container.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.run([self.binary, "--root", str(self.root), *extra, *map(str, args)], stdout=out,
                                  stderr=err, input=input, timeout=timeout)
            out.seek(0)
            err.seek(0)
            p = subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())
        if rc is not None:
            assert p.returncode == rc, (f"tiffin-oci {args} exited {p.returncode}, wanted {rc}\n"
                                        f"stdout: {p.stdout.decode()}\nstderr: {p.stderr.decode()}")
        return p

    def bundle(self, name="b", args=("true",), edit=None) -> Path:
        """A bundle from `tiffin-oci spec` (the secure defaults) running `args`, no terminal."""
        b = self.tmp / name
        busybox_rootfs(b / "rootfs")
        subprocess.run([self.binary, "spec", "--bundle", str(b)], check=True)
        cfg = json.loads((b / "config.json").read_text())
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = list(args)
        cfg["linux"]["cgroupsPath"] = f"{self.cgroup_parent}/{name}"
        if edit:
            edit(cfg)
        (b / "config.json").write_text(json.dumps(cfg))
        return b

    def state(self, cid):
        return json.loads(self("state", cid).stdout)

    def cleanup(self):
        """Deletes what is left and returns the leftovers that could not be removed."""
        leftovers = []
        if self.root.exists():
            for cid in os.listdir(self.root):
                self("delete", "--force", cid, rc=None)
                if (self.root / cid).exists():
                    leftovers.append(f"state {cid}")
        for d in cgroup_dirs(self.cgroup_parent):
            leftovers.append(f"cgroup {d}")
            subprocess.run(["find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"], capture_output=True)
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            if str(self.tmp) in line.split()[4]:
                leftovers.append(f"mount {line.split()[4]}")
                subprocess.run(["umount", "-l", line.split()[4]], capture_output=True)
        return leftovers


def reap():
    """Collects the zombies of containers reparented to us (become_subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def oci_for_test(tmp_path):
    """The body of a test module's `oci` fixture: an Oci in tmp_path, and afterwards the check
    that the test left no container, cgroup, mount or process (killing what it left)."""
    become_subreaper()
    o = Oci(tmp_path)
    yield o
    kill_processes_in_cgroup(o.cgroup_parent)
    leftovers = o.cleanup()
    reap()
    assert not leftovers, f"the test left {leftovers}"


def cgroup_dirs(parent):
    return [d for d in glob.glob(f"/sys/fs/cgroup/*{parent}") + glob.glob(f"/sys/fs/cgroup/*/{parent.lstrip('/')}")
            if os.path.isdir(d)]


def processes_running(substring, settle=3.0):
    """Live (not zombie) processes whose command line holds `substring`, each with its parent and
    cgroup for the failure message; a process killed a moment ago gets `settle` seconds to go."""
    deadline = time.time() + settle
    while True:
        found = _processes_running(substring)
        if not found or time.time() > deadline:
            return found
        time.sleep(0.05)


def kill_processes_in_cgroup(fragment):
    """Kills what a failed test left in cgroups whose path holds `fragment`, so later tests start clean."""
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and fragment in Path(f"/proc/{pid}/cgroup").read_text():
                os.kill(int(pid), 9)
        except OSError:
            pass


def _processes_running(substring):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if substring in cmd and fields[0] != "Z":
            # Enough to tell whose it is: the pid namespace view, every hierarchy, the freezer.
            try:
                cgroup = ";".join(line.split(":", 1)[1] for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()
                                  if line.startswith("0:") or "freezer" in line or "memory" in line)
                nspid = [line.split(":", 1)[1].split() for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                         if line.startswith("NSpid:")]
            except OSError:
                cgroup, nspid = "?", "?"
            out.append((int(pid), f"{cmd}(state {fields[0]}, ppid {fields[1]}, nspid {nspid}, cgroup {cgroup})"))
    return out
