"""tiffin-oci end to end, as root: the runc lifecycle and its error strings, exec, terminals,
hooks, cgroups, user namespaces, the escape battery against the secure defaults, and faults that
must leave nothing behind."""
import json
import os
import random
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import needs_root
from oci import cgroup_dirs, oci_for_test, processes_running, reap

pytestmark = needs_root
HERE = Path(__file__).resolve().parent


oci = pytest.fixture(oci_for_test, name="oci")


def wait_dead(pid, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
            if got == pid:
                return status
        except ChildProcessError:
            return None
        time.sleep(0.01)
    raise TimeoutError(f"{pid} still alive")


def test_run_returns_the_programs_exit_code_and_cleans_up(oci):
    b = oci.bundle(args=["sh", "-c", "echo out; echo err >&2; exit 7"])
    p = oci("run", "--bundle", b, "r1", rc=7)
    assert p.stdout == b"out\n" and p.stderr == b"err\n"
    assert not (oci.root / "r1").exists()
    assert cgroup_dirs(oci.cgroup_parent + "/b") == []


def test_lifecycle_matches_runc(oci, tmp_path):
    b = oci.bundle(args=["sleep", "60"])
    pid_file = tmp_path / "pid"
    oci("create", "--bundle", b, "--pid-file", pid_file, "c1")
    pid = int(pid_file.read_text())
    st = oci.state("c1")
    assert st["status"] == "created" and st["pid"] == pid and st["bundle"] == str(b) and st["id"] == "c1"
    # No runtime process stays behind but the waiting init, which is ours (we are the subreaper).
    assert [p for p, _ in processes_running(f"--root {oci.root}", settle=0) if p != pid] == []
    assert int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) == os.getpid()
    assert Path(f"/proc/{pid}/cmdline").read_bytes().startswith(str(oci.binary).encode())
    oci("start", "c1")
    assert oci.state("c1")["status"] == "running"
    deadline = time.time() + 5  # start returns once the init is released, maybe before its exec
    while Path(f"/proc/{pid}/cmdline").read_bytes() != b"sleep\x0060\x00" and time.time() < deadline:
        time.sleep(0.01)
    assert Path(f"/proc/{pid}/cmdline").read_bytes() == b"sleep\x0060\x00"
    assert oci("start", "c1", rc=1).stderr.decode().strip().endswith("cannot start a container that is running")
    # The cgroup exists in every v1 hierarchy and the unified one, and holds the init.
    dirs = cgroup_dirs(oci.cgroup_parent + "/b")
    assert len(dirs) >= 2 and all(str(pid) in Path(d, "cgroup.procs").read_text().split() for d in dirs)
    assert json.loads(oci("ps", "--format", "json", "c1").stdout) == [pid]
    assert "sleep 60" in oci("ps", "c1").stdout.decode()
    ids = [c["id"] for c in json.loads(oci("list", "--format", "json").stdout)]
    assert ids == ["c1"]
    assert "cannot delete container c1 that is not stopped: running" in oci("delete", "c1", rc=1).stderr.decode()
    oci("kill", "c1", "KILL")
    wait_dead(pid)
    assert oci.state("c1")["status"] == "stopped"
    assert "container not running" in oci("kill", "c1", "TERM", rc=1).stderr.decode()
    oci("delete", "c1")
    assert "does not exist" in oci("state", "c1", rc=1).stderr.decode()
    assert "does not exist" in oci("delete", "c1", rc=1).stderr.decode()
    oci("delete", "--force", "c1")  # force on a missing container is not an error, as in runc
    assert cgroup_dirs(oci.cgroup_parent) == []


def test_kill_signal_names_numbers_and_all(oci):
    b = oci.bundle(args=["sh", "-c", "trap 'exit 42' USR1; sleep 60 & sleep 60 & wait; wait"])
    oci("run", "--detach", "--bundle", b, "--pid-file", oci.tmp / "pid", "k1")
    pid = int((oci.tmp / "pid").read_text())
    time.sleep(0.2)
    assert len(json.loads(oci("ps", "--format", "json", "k1").stdout)) == 3
    assert "invalid signal" in oci("kill", "k1", "NOTASIGNAL", rc=1).stderr.decode()
    oci("kill", "k1", "SIGUSR1")
    assert os.WEXITSTATUS(wait_dead(pid)) == 42
    oci("delete", "k1")


def test_pause_resume_and_update(oci):
    b = oci.bundle(args=["sleep", "60"], edit=lambda c: c["linux"]["resources"].update(
        {"memory": {"limit": 64 << 20, "reservation": 32 << 20, "swap": 128 << 20}, "pids": {"limit": 50},
         "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}}))
    oci("run", "-d", "--bundle", b, "u1")
    mem = [d for d in cgroup_dirs(oci.cgroup_parent + "/b") if "/memory/" in d][0]
    assert Path(mem, "memory.limit_in_bytes").read_text().strip() == str(64 << 20)
    assert Path(mem, "memory.soft_limit_in_bytes").read_text().strip() == str(32 << 20)
    assert Path(mem, "memory.memsw.limit_in_bytes").read_text().strip() == str(128 << 20)
    cpuset = [d for d in cgroup_dirs(oci.cgroup_parent + "/b") if "/cpuset/" in d][0]
    assert Path(cpuset, "cpuset.cpus").read_text().strip() == "0"
    pids = [d for d in cgroup_dirs(oci.cgroup_parent + "/b") if "/pids/" in d][0]
    assert Path(pids, "pids.max").read_text().strip() == "50"
    cpu = [d for d in cgroup_dirs(oci.cgroup_parent + "/b") if "/cpu/" in d or "/cpu,cpuacct/" in d][0]
    assert Path(cpu, "cpu.shares").read_text().strip() == "512"
    assert Path(cpu, "cpu.cfs_quota_us").read_text().strip() == "50000"
    oci("update", "--memory", str(32 << 20), "--pids-limit", "10", "u1")
    assert Path(mem, "memory.limit_in_bytes").read_text().strip() == str(32 << 20)
    oci("update", "--resources", "-", "u1", input=b'{"pids": {"limit": 20}}')
    assert Path(pids, "pids.max").read_text().strip() == "20"
    oci("pause", "u1")
    assert oci.state("u1")["status"] == "paused"
    assert "container not running" in oci("pause", "u1", rc=1).stderr.decode()
    oci("resume", "u1")
    assert oci.state("u1")["status"] == "running"
    oci("delete", "--force", "u1")
    assert cgroup_dirs(oci.cgroup_parent) == []


def test_kill_of_a_paused_container_kills_it(oci, tmp_path):
    # SIGKILL to a frozen (v1) process stays pending until it is thawed: kill thaws after it, as
    # runc does, or the init outlives its kill (and a shim waits for it forever).
    b = oci.bundle(args=["sh", "-c", "sleep 60 & sleep 60 & wait"])
    for cid, extra in [("p1", []), ("p2", ["--all"])]:
        oci("run", "-d", "--bundle", b, "--pid-file", tmp_path / cid, cid)
        pid = int((tmp_path / cid).read_text())
        oci("pause", cid)
        assert oci.state(cid)["status"] == "paused"
        oci("kill", *extra, cid, "KILL")
        wait_dead(pid)
        assert oci.state(cid)["status"] == "stopped"
        oci("delete", cid)
    assert processes_running("sleep 60") == []


def test_pids_limit_is_enforced(oci):
    b = oci.bundle(args=["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait"],
                   edit=lambda c: c["linux"]["resources"].update({"pids": {"limit": 4}}))
    p = oci("run", "--bundle", b, "p1", rc=None)
    assert b"can't fork" in p.stderr or b"Resource temporarily unavailable" in p.stderr


def test_exec_joins_the_container(oci, tmp_path):
    b = oci.bundle(args=["sleep", "60"], edit=lambda c: c.update(hostname="inside"))
    oci("run", "-d", "--bundle", b, "e1")
    p = oci("exec", "e1", "sh", "-c", "hostname; echo $FOO; pwd; id -u; exit 3", rc=3, extra=())
    assert p.stdout.decode().split("\n")[0] == "inside"
    p = oci("exec", "--env", "FOO=bar", "--cwd", "/tmp", "--user", "1000:1000", "e1", "sh", "-c", "echo $FOO; pwd; id -u")
    assert p.stdout.decode().split() == ["bar", "/tmp", "1000"]
    # The exec'd process is in the container's pid namespace and cgroup.
    p = oci("exec", "e1", "ps")
    assert "sleep 60" in p.stdout.decode() and len(p.stdout.decode().splitlines()) == 3
    proc = json.loads(json.dumps({"args": ["sh", "-c", "echo from-process-json"], "cwd": "/", "env": ["PATH=/bin"],
                                  "user": {"uid": 0, "gid": 0}}))
    (tmp_path / "process.json").write_text(json.dumps(proc))
    assert oci("exec", "--process", tmp_path / "process.json", "e1").stdout == b"from-process-json\n"
    oci("exec", "--detach", "--pid-file", tmp_path / "epid", "e1", "sleep", "30")
    epid = int((tmp_path / "epid").read_text())
    assert epid in json.loads(oci("ps", "--format", "json", "e1").stdout)
    deadline = time.time() + 5  # --detach returns before the exec itself
    while not Path(f"/proc/{epid}/cmdline").read_bytes().startswith(b"sleep") and time.time() < deadline:
        time.sleep(0.01)
    assert processes_running(f"--root {oci.root}") == []
    err = oci("exec", "e1", "no-such-program", rc=1).stderr.decode()
    assert 'exec: "no-such-program": executable file not found in $PATH' in err
    oci("delete", "--force", "e1")
    wait_dead(epid)


def test_terminal_goes_over_the_console_socket(oci, tmp_path):
    sock_path = tmp_path / "console.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock_path))
    server.listen(1)
    got = {}

    def receive():
        conn, _ = server.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
        got["name"], got["fd"] = msg, fds[0]
        conn.close()

    t = threading.Thread(target=receive)
    t.start()
    b = oci.bundle(args=["sh", "-c", "tty; echo ready"], edit=lambda c: c["process"].update(terminal=True))
    oci("create", "--bundle", b, "--console-socket", sock_path, "--pid-file", tmp_path / "pid", "t1")
    t.join(5)
    server.close()
    assert "fd" in got
    oci("start", "t1")
    out = b""
    while b"ready" not in out:
        out += os.read(got["fd"], 4096)
    os.close(got["fd"])
    assert b"/dev/pts/0" in out
    wait_dead(int((tmp_path / "pid").read_text()))
    oci("delete", "t1")


def test_hooks_run_in_order_with_the_state_on_stdin(oci, tmp_path):
    log = tmp_path / "hooks.log"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\nread -r state\necho \"$1 $state\" >> {log}\n")
    # A hook that ignores its stdin; the container's program must not inherit SIGPIPE ignored.
    quiet = tmp_path / "quiet.sh"
    quiet.write_text("#!/bin/sh\nexit 0\n")
    quiet.chmod(0o755)
    hook.chmod(0o755)

    def edit(c):
        c["hooks"] = {phase: [{"path": str(quiet)}, {"path": str(hook), "args": ["hook.sh", phase]}]
                      for phase in ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]}

    b = oci.bundle(args=["grep", "SigIgn", "/proc/self/status"], edit=edit)
    assert oci("run", "--bundle", b, "h1").stdout.decode().split() == ["SigIgn:", "0000000000000000"]
    lines = log.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]
    first = json.loads(lines[0].split(" ", 1)[1])
    assert first["id"] == "h1" and first["status"] == "created" and first["bundle"] == str(b) and first["pid"] > 0
    assert json.loads(lines[-1].split(" ", 1)[1])["status"] == "stopped"


def test_a_failing_or_hanging_hook_fails_create_and_leaves_nothing(oci, tmp_path):
    for name, hook in [("fail", {"path": "/bin/false"}), ("hang", {"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1})]:
        b = oci.bundle(name=name, args=["sleep", "60"], edit=lambda c, h=hook: c.update(hooks={"createRuntime": [h]}))
        start = time.monotonic()
        err = oci("create", "--bundle", b, name, rc=1,
                  extra=("--log", tmp_path / "log.json", "--log-format", "json")).stderr.decode()
        assert time.monotonic() - start < 10
        assert ("failed with exit status 1" if name == "fail" else "timed out after 1s") in err
        assert not (oci.root / name).exists()
        assert cgroup_dirs(oci.cgroup_parent + "/" + name) == []
    entries = [json.loads(line) for line in (tmp_path / "log.json").read_text().splitlines()]
    assert entries and all(set(e) == {"level", "msg", "time"} and e["level"] == "error" for e in entries)
    assert processes_running("sleep 60") == [] and processes_running("sleep 30") == []


@pytest.mark.parametrize("case, edit, message", [
    ("badjson", None, "not valid JSON"),
    ("unknownns", lambda c: c["linux"]["namespaces"].append({"type": "bogus"}), "bogus"),
    ("norootfs", lambda c: c["root"].update(path="missing"), "is not a directory"),
    ("badmap", lambda c: (c["linux"]["namespaces"].append({"type": "user"}),
                          c["linux"].update(uidMappings=[{"containerID": 0, "hostID": 4294967200, "size": 1000}],
                                            gidMappings=[{"containerID": 0, "hostID": 0, "size": 1}])), "wraps"),
    ("impossiblemap", lambda c: (c["linux"]["namespaces"].append({"type": "user"}),
                                 c["linux"].update(uidMappings=[{"containerID": 0, "hostID": 0, "size": 1},
                                                                {"containerID": 5, "hostID": 0, "size": 1}],
                                                   gidMappings=[{"containerID": 0, "hostID": 0, "size": 1}])), "uid_map"),
    ("noentry", lambda c: c["process"].update(args=["/bin/nonexistent"]), "/bin/nonexistent"),
])
def test_bad_bundles_fail_clearly_and_leave_nothing(oci, case, edit, message):
    b = oci.bundle(name=case, args=["sleep", "60"], edit=edit)
    if case == "badjson":
        (b / "config.json").write_text("{not json")
    err = oci("create", "--bundle", b, case, rc=1).stderr.decode()
    assert message in err, err
    assert not (oci.root / case).exists()
    assert cgroup_dirs(oci.cgroup_parent + "/" + case) == []
    assert processes_running(f"--root {oci.root}") == []


def run_with_error_fd(oci, *args):
    """tiffin-oci with --error-fd on a pipe: its exit code and what it wrote there, read to the
    end of file, which must come once tiffin-oci exits (a created init must not hold the pipe)."""
    r, w = os.pipe()
    try:
        with tempfile.TemporaryFile() as out:
            p = subprocess.run([oci.binary, "--root", str(oci.root), "--error-fd", str(w), *map(str, args)],
                               pass_fds=(w,), stdout=out, stderr=out, timeout=60)
        os.close(w)
        w = -1
        data = b""
        while True:
            ready, _, _ = select.select([r], [], [], 5)
            assert ready, "the error fd is still held open after tiffin-oci exited"
            chunk = os.read(r, 4096)
            if not chunk:
                return p.returncode, data.decode()
            data += chunk
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_error_fd_carries_the_kind_of_a_failure(oci):
    # What the engine's shim reads: the kind decides docker's 127/126 without parsing messages.
    nobind = lambda c: c["mounts"].append({"destination": "/data", "type": "bind", "source": "/no/such/dir",
                                           "options": ["rbind"]})
    for name, args, edit, line in [("missing", ["no-such-program"], None, "program_not_found:2:"),
                                   ("notexec", ["/etc/passwd"], None, "program_not_executable:13:"),
                                   ("nobind", ["true"], nobind, "not_found:2:")]:
        b = oci.bundle(name=name, args=args, edit=edit)
        rc, text = run_with_error_fd(oci, "create", "--bundle", b, "--pid-file", oci.tmp / "pid", name)
        assert rc == 1  # runc's exit code, unchanged
        assert text.startswith(line) and text.endswith("\n") and text.count("\n") == 1, text
        assert any(w in text for w in ["no-such-program", "/etc/passwd", "/no/such/dir"]), text
        assert not (oci.root / name).exists()
    b = oci.bundle(name="fine", args=["sleep", "60"])
    assert run_with_error_fd(oci, "create", "--bundle", b, "fine") == (0, "")
    assert run_with_error_fd(oci, "start", "nosuch") == (1, "not_found:0:container nosuch does not exist\n")
    assert run_with_error_fd(oci, "pause", "fine")[1].startswith("conflict:0:")
    assert run_with_error_fd(oci, "delete", "--force", "fine") == (0, "")
    assert run_with_error_fd(oci, "kill", "fine", "BOGUS")[1].startswith("invalid_input:0:invalid signal")


def test_kill_9_in_the_middle_of_create_leaves_nothing_after_delete(oci, tmp_path):
    marker = tmp_path / "in-hook"
    hook = tmp_path / "slow.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\nexec sleep 30\n")
    hook.chmod(0o755)
    b = oci.bundle(args=["sleep", "60"], edit=lambda c: c.update(hooks={"createRuntime": [{"path": str(hook)}]}))
    p = subprocess.Popen([oci.binary, "--root", str(oci.root), "create", "--bundle", str(b), "k9"])
    deadline = time.time() + 10
    while not marker.exists() and time.time() < deadline:
        time.sleep(0.01)
    assert marker.exists()
    p.send_signal(signal.SIGKILL)
    p.wait()
    time.sleep(0.2)
    reap()
    # The init died with its parent; what is left on disk goes with delete (what conmon and
    # containerd's shim run after a failed create).
    assert processes_running("sleep 60") == [] and processes_running("sleep 30") == []
    assert oci.state("k9")["status"] == "stopped"
    oci("delete", "k9")
    assert cgroup_dirs(oci.cgroup_parent) == []


def test_create_killed_at_any_point_is_removed_by_delete_force(oci):
    # kill -9 of the creating process anywhere in its life (before or after the cgroup is made,
    # the state saved, the init cloned or released): delete --force still removes everything,
    # the empty cgroups in every hierarchy included.
    b = oci.bundle(args=["sleep", "60"])
    t = time.monotonic()
    oci("create", "--bundle", b, "probe")
    span = time.monotonic() - t
    oci("delete", "--force", "probe")
    rng = random.Random(7)
    for i in range(40):
        cid = f"k{i}"
        p = subprocess.Popen([oci.binary, "--root", str(oci.root), "create", "--bundle", str(b), cid],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, span * 1.2))
        p.kill()
        p.wait()
        oci("delete", "--force", cid)
        reap()
        assert not (oci.root / cid).exists(), f"state of {cid} left"
        assert cgroup_dirs(oci.cgroup_parent + "/b") == [], f"cgroups of {cid} left"
    assert processes_running("sleep 60") == []


def test_user_namespace_maps_ids(oci, tmp_path):
    # As with runc, the mapped root must be able to reach the rootfs.
    for d in [tmp_path, *tmp_path.parents]:
        if str(d).startswith("/tmp/"):
            d.chmod(d.stat().st_mode | 0o011)
    def edit(c):
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["mounts"] = [m for m in c["mounts"] if m["type"] != "cgroup"]

    b = oci.bundle(args=["sh", "-c", "cat /proc/self/uid_map; id -u; ls -ln /bin/busybox"], edit=edit)
    out = oci("run", "--bundle", b, "us1").stdout.decode().split("\n")
    assert out[0].split() == ["0", "100000", "65536"] and out[1] == "0"


def test_escape_battery_against_the_secure_defaults(oci, tmp_path):
    probe = tmp_path / "probe"
    subprocess.run(["gcc", "-static", "-O", "-o", probe, HERE / "escape_probe.c"], check=True)
    host = subprocess.Popen(["sleep", "60"])
    try:
        def default(c):
            c["mounts"].append({"destination": "/probe", "type": "bind", "source": str(probe), "options": ["rbind", "ro"]})

        b = oci.bundle(name="secure", args=["/probe", str(host.pid)], edit=default)
        p = oci("run", "--bundle", b, "esc", rc=None)
        out = p.stdout.decode()
        assert p.returncode == 0, out + p.stderr.decode()
        assert "ESCAPED" not in out and "escaped 0 of 13" in out, out

        # The same probe in a privileged container gets out of several: the battery can fail.
        def privileged(c):
            default(c)
            caps = ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_BOOT"] + c["process"]["capabilities"]["bounding"]
            c["process"]["capabilities"] = {k: caps for k in ["bounding", "effective", "permitted"]}
            c["linux"].pop("seccomp")
            c["linux"]["maskedPaths"] = []
            c["linux"]["readonlyPaths"] = []
            c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]

        b = oci.bundle(name="privileged", args=["/probe", str(host.pid)], edit=privileged)
        out = oci("run", "--bundle", b, "priv", rc=1).stdout.decode()
        for name in ["mount ESCAPED", "unshare-user ESCAPED", "unshare-mount ESCAPED", "keyctl ESCAPED", "proc-sys ESCAPED"]:
            assert name in out, out
    finally:
        host.kill()
        host.wait()


def test_readonly_root_masked_paths_and_seccomp_in_proc_status(oci):
    b = oci.bundle(args=["sh", "-c", "touch /x 2>&1; grep -E 'NoNewPrivs|Seccomp:|CapEff' /proc/self/status; "
                                     "cat /proc/timer_list | wc -c"])
    out = oci("run", "--bundle", b, "ro1").stdout.decode()
    assert "Read-only file system" in out
    assert "NoNewPrivs:\t1" in out and "Seccomp:\t2" in out
    assert "CapEff:\t00000000a80425fb" in out  # Docker's 14 capabilities
    assert out.strip().endswith("0")  # masked: reads as empty


def test_version_features_and_spec(oci, tmp_path):
    v = oci("--version").stdout.decode()
    assert v.startswith("tiffin-oci version ") and "spec: 1.1.0" in v
    f = json.loads(oci("features").stdout)
    assert "time" in f["linux"]["namespaces"] and f["linux"]["seccomp"]["enabled"]
    (tmp_path / "s").mkdir()
    oci("spec", "--bundle", tmp_path / "s")
    spec = json.loads((tmp_path / "s" / "config.json").read_text())
    assert spec["process"]["noNewPrivileges"] and spec["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert "exists" in oci("spec", "--bundle", tmp_path / "s", rc=1).stderr.decode()
