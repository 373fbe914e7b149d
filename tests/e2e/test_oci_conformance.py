"""Configs other tools generate, run as runc and crun run them: a seccomp allowlist that does not
name close_range, hooks with the spec's states and failure rules, the init's own errors when it
fails early, a config without a mount namespace, and every rootfsPropagation mode."""
import json
from pathlib import Path

import pytest

from conftest import needs_root
from oci import cgroup_dirs, oci_for_test, processes_running

pytestmark = needs_root

# What busybox's sh needs to run a few commands (found with strace), and nothing else: no
# close_range, no prctl, no capset. Everything else fails with EPERM, as in hand-written
# allowlists and older Docker/Kubernetes profiles.
SHELL_SYSCALLS = ["arch_prctl", "brk", "clone", "close", "dup2", "execve", "exit", "exit_group", "fcntl", "getdents64", "getegid",
                  "geteuid", "getgid", "getgroups", "getpid", "getppid", "getrandom", "getuid", "ioctl", "mmap", "mprotect",
                  "munmap", "newfstatat", "openat", "prlimit64", "read", "readlink", "rseq", "rt_sigaction", "rt_sigprocmask",
                  "rt_sigreturn", "sendfile", "set_robust_list", "set_tid_address", "uname", "wait4", "write", "lseek"]
# What the init makes between a filter loaded before the capability steps (no_new_privs false:
# loading it needs CAP_SYS_ADMIN) and execve, as process_setup.hpp lists it.
PRIVILEGED_TAIL = ["prctl", "capget", "capset", "setgroups", "setresgid", "setresuid", "sendto"]


oci = pytest.fixture(oci_for_test, name="oci")


def allowlist(names):
    return {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]}


@pytest.mark.parametrize("no_new_privs", [True, False])
def test_a_seccomp_allowlist_without_close_range_runs(oci, no_new_privs):
    extra = [] if no_new_privs else PRIVILEGED_TAIL
    if not no_new_privs and b"__asan_init" in Path(oci.binary).read_bytes():
        pytest.skip("a sanitizer build's runtime makes syscalls of its own in the init, under the early filter")

    def edit(c):
        c["linux"]["seccomp"] = allowlist(SHELL_SYSCALLS + extra)
        c["process"]["noNewPrivileges"] = no_new_privs

    # The container's fds: 0-2 and the one ls opens; nothing the runtime had may leak past exec.
    b = oci.bundle(args=["sh", "-c", "echo hello; ls /proc/self/fd; grep Seccomp: /proc/self/status"], edit=edit)
    p = oci("run", "--bundle", b, "s1", rc=None)
    out = p.stdout.decode().split()
    assert p.returncode == 0, p.stderr.decode()
    assert out[0] == "hello" and out[1:5] == ["0", "1", "2", "3"] and out[5:] == ["Seccomp:", "2"], out
    # The profile is enforced: what it does not list fails.
    b2 = oci.bundle(name="b2", args=["sh", "-c", "hostname x 2>&1; exit 0"], edit=edit)
    assert "Operation not permitted" in oci("run", "--bundle", b2, "s2").stdout.decode()


def test_exec_under_an_allowlist_without_close_range(oci):
    b = oci.bundle(args=["sleep", "60"], edit=lambda c: c["linux"].update(seccomp=allowlist(SHELL_SYSCALLS + ["nanosleep",
                                                                                                              "clock_nanosleep"])))
    oci("run", "-d", "--bundle", b, "e1")
    assert oci("exec", "e1", "sh", "-c", "echo in; ls /proc/self/fd").stdout.decode().split() == ["in", "0", "1", "2", "3"]
    oci("delete", "--force", "e1")


def hook_battery(tmp_path, rootfs):
    """Hooks for every phase that log "<phase>\t<state>\t<cmdline of the state's pid>" to
    rootfs/hooks.log; poststart and poststop start with a failing hook. startContainer runs in the
    container, so its hook is a script inside the rootfs."""
    log = rootfs / "hooks.log"
    rec = tmp_path / "rec.sh"
    rec.write_text(f"#!/bin/sh\nread -r state\npid=$(echo \"$state\" | sed -n 's/.*\"pid\":\\([0-9]*\\).*/\\1/p')\n"
                   f"cmd=$(tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null)\nprintf '%s\\t%s\\t%s\\n' \"$1\" \"$state\" \"$cmd\" >> {log}\n")
    rec.chmod(0o755)
    (rootfs / "rec.sh").write_text("#!/bin/sh\nread -r state\necho \"$1\t$state\t\" >> /hooks.log\n")
    (rootfs / "rec.sh").chmod(0o755)
    env = ["PATH=/usr/bin:/bin"]

    def recorder(phase, path=str(rec)):
        return {"path": path, "args": ["rec.sh", phase], "env": env}

    failing = {"path": "/bin/false"}
    hooks = {phase: [recorder(phase)] for phase in ["prestart", "createRuntime", "createContainer"]}
    hooks["startContainer"] = [recorder("startContainer", "/rec.sh")]
    hooks["poststart"] = [failing, recorder("poststart")]
    hooks["poststop"] = [failing, recorder("poststop")]

    def entries():
        out = []
        for line in log.read_text().splitlines() if log.exists() else []:
            phase, state, cmd = line.split("\t")
            out.append((phase, json.loads(state), cmd.strip()))
        return out

    return hooks, entries


def test_hook_battery_order_states_and_failures(oci, tmp_path):
    b = oci.bundle(args=["sleep", "60"])
    hooks, entries = hook_battery(tmp_path, b / "rootfs")
    cfg = json.loads((b / "config.json").read_text())
    cfg["hooks"] = hooks
    cfg["root"]["readonly"] = False  # the startContainer hook writes its log in there
    (b / "config.json").write_text(json.dumps(cfg))

    oci("create", "--bundle", b, "h1")
    pid = oci.state("h1")["pid"]
    assert [(p, s["status"], s["pid"], s["bundle"], s["id"]) for p, s, _ in entries()] == [
        (p, "created", pid, str(b), "h1") for p in ["prestart", "createRuntime", "createContainer"]]
    err = oci("start", "h1").stderr.decode()
    # poststart has run when start returns, after the program started (its pid is sleep's), and
    # after a failing poststart hook, which is only a warning.
    seen = entries()
    assert [p for p, _, _ in seen] == ["prestart", "createRuntime", "createContainer", "startContainer", "poststart"]
    assert seen[3][1]["status"] == "created" and seen[3][1]["pid"] == pid
    assert seen[4][1]["status"] == "running" and seen[4][1]["pid"] == pid and seen[4][2] == "sleep 60"
    assert "warning: poststart hook /bin/false failed" in err
    assert oci.state("h1")["status"] == "running"
    err = oci("delete", "--force", "h1").stderr.decode()
    assert "warning: poststop hook /bin/false failed" in err
    last = entries()[-1]
    assert last[0] == "poststop" and last[1]["status"] == "stopped" and last[1]["bundle"] == str(b)


def test_run_runs_poststart_after_the_program_starts(oci, tmp_path):
    b = oci.bundle(args=["sleep", "1"])
    hooks, entries = hook_battery(tmp_path, b / "rootfs")
    cfg = json.loads((b / "config.json").read_text())
    cfg["hooks"] = {"poststart": hooks["poststart"]}
    (b / "config.json").write_text(json.dumps(cfg))
    p = oci("run", "--bundle", b, "r1")
    assert [(ph, s["status"], cmd) for ph, s, cmd in entries()] == [("poststart", "running", "sleep 1")]
    assert "warning: poststart hook /bin/false failed" in p.stderr.decode()


@pytest.mark.parametrize("mode", ["private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"])
def test_every_rootfs_propagation_mode_runs(oci, mode):
    b = oci.bundle(args=["sh", "-c", "grep -E '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / ' /proc/self/mountinfo"], edit=lambda c: c["linux"].update(rootfsPropagation=mode))
    line = oci("run", "--bundle", b, "p1").stdout.decode()
    fields = line.split(" - ")[0].split()[6:]
    if "unbindable" in mode:
        assert "unbindable" in fields, line
    elif "shared" in mode:
        assert any(f.startswith("shared:") for f in fields), line


def test_a_config_without_a_mount_namespace_is_refused_by_design(oci):
    b = oci.bundle(edit=lambda c: c["linux"].update(namespaces=[n for n in c["linux"]["namespaces"] if n["type"] != "mount"]))
    err = oci("create", "--bundle", b, "m1", rc=1).stderr.decode()
    assert "no mount namespace" in err and "by design" in err, err
    assert not (oci.root / "m1").exists() and cgroup_dirs(oci.cgroup_parent + "/b") == []


def userns(c):
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"].update(uidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}],
                      gidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}])


def replace_ns(c, kind, path):
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != kind] + [{"type": kind, "path": path}]


# Failures of the init before, at and after the cgroup step: the user reads the init's own error.
@pytest.mark.parametrize("case, edit, message", [
    ("badfs", lambda c: c["mounts"].append({"destination": "/x", "type": "nosuchfs", "source": "none"}),
     "mounting nosuchfs on /x: No such device"),
    # In a user namespace (pytest's 0700 temporary directory is closed to its root).
    ("rootfs_userns", userns, "bind-mounting the rootfs"),
    ("nobindsource", lambda c: c["mounts"].append({"destination": "/x", "type": "bind", "source": "/nonexistent", "options": ["bind"]}),
     "source /nonexistent: No such file or directory"),
    ("missingns", lambda c: replace_ns(c, "network", "/run/netns/tiffin-missing"), "/run/netns/tiffin-missing: No such file"),
    ("notans", lambda c: replace_ns(c, "network", "/etc/hostname"), "network namespace /etc/hostname is not a namespace"),
    ("wrongns", lambda c: replace_ns(c, "uts", "/proc/self/ns/net"), "/proc/self/ns/net is not a uts namespace"),
    ("badsysctl", lambda c: c["linux"].update(sysctl={"kernel.nosuchsysctl": "1"}), "sysctl kernel.nosuchsysctl=1"),
    ("badhook", lambda c: c.update(hooks={"createContainer": [{"path": "/bin/false"}]}), "createContainer hook /bin/false failed"),
    # Killed without a word: an early filter (no_new_privs false) that kills on the first
    # syscall it does not list.
    ("killed", lambda c: (c["process"].update(noNewPrivileges=False),
                          c["linux"].update(seccomp=dict(allowlist(SHELL_SYSCALLS), defaultAction="SCMP_ACT_KILL_PROCESS"))),
     "the container's init was killed by signal 31 (Bad system call) during setup"),
])
def test_an_early_failure_of_the_init_keeps_its_reason(oci, case, edit, message):
    b = oci.bundle(name=case, args=["sleep", "4242"], edit=edit)
    for verb in (["create"], ["run", "-d"]):
        err = oci(*verb, "--bundle", b, case, rc=1).stderr.decode()
        assert message in err and "Broken pipe" not in err, err
        assert not (oci.root / case).exists()
        assert cgroup_dirs(oci.cgroup_parent + "/" + case) == []
    assert processes_running(f"--root {oci.root}") == [] and processes_running("sleep 4242") == []


# This host has neither AppArmor nor SELinux: a label asked for is refused, as runc refuses it,
# rather than the container running unconfined.
@pytest.mark.parametrize("case, edit, message", [
    ("apparmor", lambda c: c["process"].update(apparmorProfile="docker-default"), "process.apparmorProfile 'docker-default': this host has no AppArmor"),
    ("selinux", lambda c: c["process"].update(selinuxLabel="system_u:system_r:container_t:s0"), "process.selinuxLabel"),
    ("mountlabel", lambda c: c["linux"].update(mountLabel="system_u:object_r:container_file_t:s0"), "linux.mountLabel"),
])
def test_security_labels_the_host_cannot_apply_are_refused(oci, case, edit, message):
    assert not Path("/sys/kernel/security/apparmor").exists() and not Path("/sys/fs/selinux/enforce").exists()
    b = oci.bundle(name=case, args=["sleep", "4242"], edit=edit)
    err = oci("run", "-d", "--bundle", b, case, rc=1).stderr.decode()
    assert message in err, err
    assert not (oci.root / case).exists() and cgroup_dirs(oci.cgroup_parent + "/" + case) == []


def test_exec_with_a_label_the_host_cannot_apply_is_refused(oci):
    b = oci.bundle(args=["sleep", "4242"])
    oci("run", "-d", "--bundle", b, "x1")
    for flag, message in [("--apparmor", "this host has no AppArmor"), ("--process-label", "this host has no SELinux")]:
        err = oci("exec", flag, "some-label", "x1", "true", rc=1).stderr.decode()
        assert message in err, err
    features = json.loads(oci("features").stdout)
    assert features["linux"]["apparmor"]["enabled"] is False and features["linux"]["selinux"]["enabled"] is False
    oci("delete", "--force", "x1")
