"""The engine end to end, as root: images (import, pull from a real hub, push, rmi), every
container verb of the docker-like command line, the shim's logs and stats reaching a real
redis-server (also across a restart of that server), restart policies, volumes, and the
exit codes docker gives."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import TIFFIN, needs_root, tiffin
from engine import Node, image, make_busybox_image, node, processes_with, run_in_pty, wait_for  # noqa: F401 (fixtures)
from test_hub import Hub

pytestmark = needs_root


class RedisSubscriber:
    """`redis-cli SUBSCRIBE` on channels, collecting the messages it prints."""

    def __init__(self, port, *channels):
        self.proc = subprocess.Popen(["redis-cli", "-p", str(port), "--raw", "SUBSCRIBE", *channels],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.buf = b""
        wait_for(lambda: self._read() or self.buf.count(b"subscribe") >= len(channels), what="subscription")

    def _read(self):
        try:
            chunk = self.proc.stdout.read()
            if chunk:
                self.buf += chunk
        except (BlockingIOError, TypeError):
            pass
        return False

    def text(self):
        self._read()
        return self.buf.decode(errors="replace")

    def close(self):
        self.proc.kill()
        self.proc.wait()


def test_run_foreground_exit_codes_and_rm(node, image):
    p = node("run", "--rm", image, "sh", "-c", "echo out; echo err >&2; exit 3", rc=3)
    assert p.stdout == b"out\n" and p.stderr == b"err\n"
    assert node.container_ids() == [], "--rm removed the container"
    # docker's codes: 127 not found, 126 not executable, 125 the engine's own failures.
    assert b"executable file not found" in node("run", "--rm", image, "nosuch", rc=127).stderr
    node("run", "--rm", image, "/etc/passwd", rc=126)
    assert b"no such image" in node("run", "--rm", "nothing-here", "true", rc=125).stderr
    node("run", "--rm", "--memory", "1k", image, "true", rc=125)
    node("run", "--rm", "--network", "bridge0", image, "true", rc=125)
    node("run", "--rm", "-v", "relative/path:/x", image, "true", rc=125)
    assert node.container_ids() == []
    # Flags after the image belong to the command.
    assert node.out("run", "--rm", image, "echo", "-n", "--rm") == "--rm"


def test_image_config_env_workdir_user_and_overrides(node, tmp_path):
    from oci import busybox_rootfs
    rootfs = busybox_rootfs(tmp_path / "cfg-rootfs")
    (rootfs / "srv").mkdir()
    node("import", rootfs, "cfg:1", "--entrypoint", "sh", "--entrypoint", "-c", "--cmd", "echo $GREETING from $(pwd) as $(id -u)",
         "--env", "GREETING=hello", "--workdir", "/srv", "--user", "user")
    assert node.out("run", "--rm", "cfg:1") == "hello from /srv as 1000"
    assert node.out("run", "--rm", "-e", "GREETING=hi", "-w", "/tmp", "-u", "0", "cfg:1") == "hi from /tmp as 0"
    assert node.out("run", "--rm", "--entrypoint", "id", "cfg:1", "-un") == "user"
    images = node.rows("images")
    assert (images[0]["Repository"], images[0]["Tag"]) == ("cfg", "1") and len(images) == 1


def test_detached_lifecycle_ps_inspect_logs_exec_top_stats_stop_start_restart_kill(node, image):
    cid = node.out("run", "-d", "--name", "web", "--memory", "64m", "--pids-limit", "50", "--cpus", "0.5", image, "sh", "-c",
                   "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done")
    assert len(cid) == 64
    info = node.inspect("web")
    assert info["State"]["Status"] == "running" and info["State"]["Pid"] > 0
    assert node.out("ps", "-q") == cid[:12]
    assert node("run", "-d", "--name", "web", image, "true", rc=125).stderr.count(b"already in use") == 1
    wait_for(lambda: "started" in node.out("logs", "web"), what="the first log line")
    # exec: output, exit codes, env, workdir, user; hostname and lo of its own network.
    assert node.out("exec", "web", "sh", "-c", "echo $0", "x") == "x"
    node("exec", "web", "sh", "-c", "exit 7", rc=7)
    node("exec", "web", "nosuch", rc=127)
    assert node.out("exec", "-e", "A=1", "-w", "/tmp", "-u", "1000", "web", "sh", "-c", "echo $A $(pwd) $(id -u)") == "1 /tmp 1000"
    assert node.out("exec", "web", "hostname") == cid[:12]
    assert "lo" in node.out("exec", "web", "ls", "/sys/class/net")
    assert node.out("exec", "web", "cat", "/sys/class/net/lo/operstate") in ("unknown", "up")
    # Limits reached the cgroup; top and stats see the processes.
    assert "sleep" in node.out("top", "web") or "sh -c" in node.out("top", "web")
    stats = json.loads(node.out("stats", "--no-stream", "--format", "json", "web"))[0]
    assert stats["memory_limit"] == 64 << 20 and stats["pids_current"] >= 1 and stats["cpu_usage"] > 0
    # stop: SIGTERM reaches the program, which says goodbye.
    node("stop", "-t", "5", "web")
    info = node.inspect("web")
    assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 0
    assert node.out("logs", "web").splitlines()[-1] == "bye"
    assert node.out("ps", "-q") == ""
    assert cid[:12] in node.out("ps", "-a", "-q", "-f", "status=exited")
    assert b"is not running" in node("exec", "web", "true", rc=125).stderr
    node("start", "web")
    assert node.inspect("web")["State"]["Status"] == "running"
    node("restart", "-t", "5", "web")
    assert node.inspect("web")["State"]["Status"] == "running"
    assert node.out("logs", "--tail", "1", "web") == "started"
    node("pause", "web")
    assert node.inspect("web")["State"]["Status"] == "paused"
    node("unpause", "web")
    node("kill", "web")
    assert node.out("wait", "web") == "137"
    node("rm", "web")
    node("rm", "web", rc=2)
    assert b"no such container" in node("logs", "web", rc=2).stderr


def test_format_templates_as_docker(node, image):
    """inspect -f and --format take docker's Go templates (api/go_template), as docker's scripts write them."""
    node("volume", "create", "tdata")
    node("run", "-d", "--name", "tweb", "-v", "tdata:/data", "-l", "com.x=y", image, "sh", "-c", "sleep 1000")
    node("create", "--name", "tnew", image, "true")
    pid = node.inspect("tweb")["State"]["Pid"]
    assert node.out("inspect", "-f", "{{.State.Pid}}", "tweb") == str(pid)
    assert node.out("inspect", "--format", "{{json .Config.Cmd}}", "tweb") == '["sh","-c","sleep 1000"]'
    assert node.out("inspect", "-f", "{{.Config.Cmd}} {{.Name}}", "tweb") == "[sh -c sleep 1000] /tweb"
    assert node.out("inspect", "-f", "{{range .Mounts}}{{.Name}}:{{.Destination}}{{end}}", "tweb") == "tdata:/data"
    assert node.out("inspect", "-f", "{{if .State.Running}}up{{else}}down{{end}}", "tweb", "tnew").splitlines() == ["up", "down"]
    assert b"unclosed action" in node("inspect", "-f", "{{.State.Pid", "tweb", rc=2).stderr
    assert b"can't evaluate field X" in node("inspect", "-f", "{{.State.Pid.X}}", "tweb", rc=2).stderr
    rows = node.out("ps", "-a", "--format", "{{.Names}} {{.Status}}").splitlines()
    assert "tnew Created" in rows and any(r.startswith("tweb Up ") for r in rows), rows
    table = node.out("ps", "--format", r'table {{.Names}}\t{{.Image}}\t{{.Label "com.x"}}').splitlines()
    assert table[0].split() == ["NAMES", "IMAGE", "X"] and table[1].split() == ["tweb", image, "y"], table
    assert table[0].index("IMAGE") == table[1].index(image) == len("tweb") + 6  # docker's tabwriter: minwidth 10
    row = json.loads(node.out("ps", "--format", "{{json .}}"))
    assert row["Names"] == "tweb" and row["Command"] == "\"sh -c 'sleep 1000'\"" and row["ID"] == node.inspect("tweb")["Id"][:12]
    assert node.out("images", "--format", "{{.Repository}}:{{.Tag}}") == f"{image}:latest"
    assert node.out("image", "inspect", "-f", "{{.Os}} {{.Config.Cmd}}", image) == "linux [sh]"
    assert node.out("volume", "ls", "--format", "table {{.Name}}\t{{.Driver}}").splitlines() == ["VOLUME NAME   DRIVER", "tdata         local"]
    assert node.out("volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "tdata") == "tdata local"
    nets = node.out("inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", "tweb").split()
    assert nets == node.out("ps", "--format", "{{.Networks}}").split(",")
    assert node.out("network", "inspect", "-f", "{{.Name}}", nets[0]) == nets[0]
    node("rm", "-f", "tweb", "tnew")
    node("volume", "rm", "tdata")


def test_rm_refuses_running_and_force_kills(node, image):
    node("run", "-d", "--name", "busy", image, "sleep", "1000")
    assert b"stop it first" in node("rm", "busy", rc=2).stderr
    cid = node.inspect("busy")["Id"]
    node("rm", "-f", "busy")
    assert node.container_ids() == []
    assert not node.cgroup_dirs(cid)
    wait_for(lambda: not processes_with(f"/tiffin/{cid}", in_cgroup=True), what="the container's processes to go")


def test_interactive_stdin_and_a_terminal(node, image):
    assert node("run", "-i", "--rm", image, "wc", "-l", input=b"a\nb\nc\n").stdout.strip() == b"3"
    # -t: a real pty on our side, a terminal inside, of our size before the program's first
    # instruction (the client's size reaches the shim before Start).
    code, out = run_in_pty([TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "run", "-it", "--rm", image,
                            "sh", "-c", "stty size; tty; read x; echo got:$x"], answer=b"hello\r")
    assert code == 0, out
    assert b"/dev/pts/0" in out and b"33 101" in out and b"got:hello" in out


def test_logs_and_stats_reach_redis_and_survive_its_restart(node, image, redis):
    url = f"redis://127.0.0.1:{redis.port}"
    sub = RedisSubscriber(redis.port, "out", "err", "stats")
    try:
        node("run", "-d", "--name", "talker", "--log-redis", f"stdout={url}/out,stderr={url}/err", "--stats-redis", f"{url}/stats",
             image, "sh", "-c", "i=0; while true; do echo line$i; echo oops$i >&2; i=$((i+1)); sleep 0.2; done")
        wait_for(lambda: "line2" in sub.text() and "oops2" in sub.text() and "memory_usage" in sub.text(), timeout=15,
                 what="log lines and stats on redis")
        text = sub.text()
        stats = json.loads(next(l for l in text.splitlines() if l.startswith("{")))
        assert set(stats) == {"timestamp", "memory_usage", "memory_limit", "memory_cache", "cpu_usage", "pids_current"}
        assert stats["pids_current"] >= 1
        # Lines keep their newline (Zero-OS's format): redis-cli --raw prints it, so an empty line follows.
        assert "line0\n\n" in text
    finally:
        sub.close()
    # The server goes away; lines keep going to the local log; it comes back and gets new lines.
    redis.stop()
    time.sleep(1.5)
    redis.start()
    sub = RedisSubscriber(redis.port, "out")
    try:
        wait_for(lambda: "line" in sub.text(), timeout=20, what="log lines after redis came back")
    finally:
        sub.close()
    logs = node.out("logs", "talker")
    n = max(int(l[4:]) for l in logs.splitlines() if l.startswith("line"))
    assert all(f"line{i}" in logs for i in range(n)), "the local log has every line"
    node("rm", "-f", "talker")


def test_restart_policies(node, image):
    node("run", "-d", "--name", "flaky", "--restart", "on-failure:2", image, "sh", "-c", "echo run; exit 1")
    assert node.out("wait", "flaky") == "1"
    assert node.out("logs", "flaky").count("run") == 3 and node.inspect("flaky")["RestartCount"] == 2
    node("run", "-d", "--name", "ok", "--restart", "on-failure", image, "true")
    assert node.out("wait", "ok") == "0" and node.inspect("ok")["RestartCount"] == 0
    node("run", "-d", "--name", "always", "--restart", "always", image, "sh", "-c", "echo x; sleep 0.2")
    wait_for(lambda: node.out("logs", "always").count("x") >= 3, what="three runs")
    node("stop", "always")
    assert node.inspect("always")["State"]["Status"] == "exited"
    # Zero-OS's rule: every 2 s, at most 4 failures a minute.
    node("run", "-d", "--name", "zos", "--restart", "zos", image, "sh", "-c", "echo z; exit 1")
    t0 = time.time()
    assert node.out("wait", "zos", timeout=30) == "1"
    assert node.out("logs", "zos").count("z") == 4 and time.time() - t0 >= 5.5
    node("run", "--rm", "--restart", "always", image, "true", rc=125)


def test_volumes_binds_read_only_and_disk_size(node, image, tmp_path):
    node("volume", "create", "data")
    node("volume", "create", "small", "--size", "16")
    node("volume", "create", "data", rc=2)
    assert [v["Name"] for v in node.rows("volume", "ls")] == ["data", "small"]
    assert node.out("volume", "inspect", "-f", "{{.Options.size}}", "small") == "16m"
    host = tmp_path / "host"
    host.mkdir()
    (host / "in.txt").write_text("from host")
    node("run", "--rm", "-v", "data:/data", "-v", f"{host}:/h:ro", image, "sh", "-c",
         "echo kept > /data/f; cat /h/in.txt; ! touch /h/no 2>/dev/null")
    assert node.out("run", "--rm", "-v", "data:/data", image, "cat", "/data/f") == "kept"
    assert not (host / "no").exists()
    # A sized volume and a sized writable layer stop writes at their size.
    node("run", "--rm", "-v", "small:/s", image, "sh", "-c", "! dd if=/dev/zero of=/s/big bs=1M count=40 2>/dev/null")
    node("run", "--rm", "--disk-size", "16", image, "sh", "-c", "! dd if=/dev/zero of=/big bs=1M count=40 2>/dev/null")
    node("run", "--rm", "--read-only", image, "sh", "-c", "! touch /x 2>/dev/null")
    node("run", "--rm", image, "touch", "/x")
    node("run", "-d", "--name", "holder", "-v", "data:/data", image, "sleep", "1000")
    assert b"in use" in node("volume", "rm", "data", rc=2).stderr
    node("rm", "-f", "holder")
    node("volume", "rm", "data", "small")
    assert node.out("volume", "ls", "--format", "json") == ""


def test_privileges_network_host_and_capabilities(node, image):
    caps = lambda *flags: node.out("run", "--rm", *flags, image, "sh", "-c", "grep CapEff /proc/self/status")
    default = int(caps().split()[1], 16)
    assert default & (1 << 12) == 0  # no CAP_NET_ADMIN by default
    assert int(caps("--cap-add", "NET_ADMIN").split()[1], 16) & (1 << 12)
    assert int(caps("--cap-drop", "ALL").split()[1], 16) == 0
    assert int(caps("--privileged").split()[1], 16) > default
    node("run", "--rm", image, "sh", "-c", "! mount -t tmpfs t /mnt 2>/dev/null")
    # The veths of containers that just went are deleted by the kernel a moment later: not counted.
    ours = lambda links: sorted(link for link in links if not link.startswith("tf"))
    host_links = ours(os.listdir("/sys/class/net"))
    assert ours(node.out("run", "--rm", "--network", "host", image, "ls", "/sys/class/net").split()) == host_links
    assert node.out("run", "--rm", "--network", "none", image, "ls", "/sys/class/net") == "lo"
    assert node.out("run", "--rm", image, "ls", "/sys/class/net").split() == ["eth0", "lo"], "the default network"
    assert node.out("run", "--rm", "--hostname", "box", image, "hostname") == "box"


def test_images_pull_push_rmi_and_run_from_a_hub_url(node, image, tmp_path):
    hub = Hub(tmp_path / "hub").start()
    try:
        token = hub.token("alice")
        node("push", image, f"{hub.url}/alice/busybox:1.0", "--token", token)
        other = Node(tmp_path / "other")
        try:
            url = f"{hub.url}/alice/busybox:1.0"
            # Lazily from the hub URL: pulls the flist, mounts it, fetches blocks as read.
            assert other.out("run", "--rm", url, "echo", "lazy") == "lazy"
            host_form = url.removeprefix("http://")
            assert other.out("run", "--rm", host_form, "echo", "by-host") == "by-host"
            assert host_form in other.out("images")
            assert other.out("pull", url) == host_form
            other("rmi", host_form)
            assert other.out("images", "-q") == ""
            assert b"no such image" in other("run", "--rm", f"{hub.url}/alice/nothing:1", "true", rc=125).stderr
            hub.stop()
            assert other("pull", url, rc=None).returncode != 0, "a dead hub is an error"
        finally:
            leaks = other.teardown()
            assert not leaks, leaks
    finally:
        hub.stop()
    node("run", "-d", "--name", "user", image, "sleep", "1000")
    assert b"in use" in node("rmi", image, rc=2).stderr
    node("rm", "-f", "user")
    assert "Untagged: busybox:latest" in node.out("rmi", image)


def test_run_from_a_directory_a_tar_and_an_fl_file(node, tmp_path):
    from oci import busybox_rootfs
    rootfs = busybox_rootfs(tmp_path / "dir-rootfs")
    assert node.out("run", "--rm", rootfs, "echo", "from-dir") == "from-dir"
    subprocess.run(["tar", "-C", rootfs, "-czf", tmp_path / "r.tar.gz", "."], check=True)
    assert node.out("run", "--rm", tmp_path / "r.tar.gz", "echo", "from-tar") == "from-tar"
    tiffin("flist", "pack", rootfs, "-o", tmp_path / "r.fl", "-s", f"dir://{tmp_path}/blocks")
    assert node.out("run", "--rm", tmp_path / "r.fl", "echo", "from-fl") == "from-fl"
    node("run", "--rm", tmp_path / "missing.fl", "true", rc=125)


def test_attach_and_system_prune(node, image):
    node("run", "-d", "-i", "--name", "echoer", image, "sh", "-c", "read x; echo got:$x")
    p = subprocess.Popen([TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "attach", "echoer"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out, _ = p.communicate(b"hi\n", timeout=20)
    assert out == b"got:hi\n" and p.returncode == 0
    node("run", "--name", "done", image, "true")
    node("run", "-d", "--name", "alive", image, "sleep", "1000")
    pruned = node.out("system", "prune")
    assert "Deleted container" in pruned
    assert [c["Names"] for c in node.rows("ps", "-a")] == ["alive"]


def test_concurrent_clis_keep_one_consistent_state(node, image):
    procs = [subprocess.Popen([TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "run", "-d", "--name", f"c{i % 4}",
                               image, "sleep", "1000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(8)]
    codes = [p.wait(timeout=60) for p in procs]
    assert sorted(codes) == [0] * 4 + [125] * 4, "each name is taken exactly once"
    names = sorted(c["Names"] for c in node.rows("ps"))
    assert names == ["c0", "c1", "c2", "c3"]
    rms = [subprocess.Popen([TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "rm", "-f", f"c{i}"])
           for i in range(4)]
    assert [p.wait(timeout=60) for p in rms] == [0] * 4
    assert node.container_ids() == []


def test_create_start_attached_follow_logs_exec_variants_and_volume_inspect(node, image):
    cid = node.out("create", "--name", "later", image, "sh", "-c", "echo one; sleep 1; echo two; exit 5")
    assert node.inspect("later")["State"]["Status"] == "created" and node.out("ps", "-q") == ""
    # start -a: attached to the output, the container's exit code is ours.
    p = node("start", "-a", "later", rc=5)
    assert p.stdout == b"one\ntwo\n"
    # logs -f follows a running container until it stops; -t adds the time of each line.
    node("start", "later")
    follow = subprocess.run([TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "logs", "-f", "later"],
                            capture_output=True, timeout=30)
    assert follow.stdout.decode().count("two") == 2, "both runs' lines, the second one followed to its end"
    stamped = node.out("logs", "-t", "--tail", "1", "later")
    assert stamped.endswith(" two") and stamped[:4].isdigit() and "T" in stamped.split()[0]
    node("rm", cid)
    # exec -d leaves a process running; exec -it gets a terminal.
    node("run", "-d", "--name", "box", image, "sleep", "1000")
    node("exec", "-d", "box", "sh", "-c", "echo detached > /tmp/mark; sleep 1000")
    wait_for(lambda: node("exec", "box", "cat", "/tmp/mark", rc=None).stdout == b"detached\n", what="the detached exec")
    assert "sleep 1000" in node.out("top", "box").split("\n", 1)[1]
    code, out = run_in_pty([TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "exec", "-it", "box", "sh", "-c",
                            "tty; sleep 0.5; stty size; exit 3"], rows=40, cols=120)
    assert code == 3 and b"/dev/pts/" in out and b"40 120" in out
    node("rm", "-f", "box")
    node("volume", "create", "v1", "--size", "8")
    v = json.loads(node.out("volume", "inspect", "v1"))[0]
    assert v["Name"] == "v1" and v["SizeMiB"] == 8 and os.path.ismount(v["Mountpoint"])
    node("volume", "inspect", "nope", rc=2)
    node("volume", "rm", "v1")
    assert not os.path.exists(v["Mountpoint"])


def test_commit_keeps_the_changes_and_the_run_options(node, image):
    node("run", "--name", "c1", "-e", "MODE=prod", "-w", "/srv", image, "sh", "-c",
         "mkdir -p /srv && echo made > /srv/new && rm /etc/group && echo changed >> /etc/passwd")
    out = node.out("commit", "c1", "committed:1")
    assert out.startswith("sha256:") and len(out) == 71
    ran = node.out("run", "--rm", "committed:1", "sh", "-c",
                   "cat /srv/new; test -e /etc/group && echo group-still-there; tail -n1 /etc/passwd; echo $MODE; pwd")
    assert ran.splitlines() == ["made", "changed", "prod", "/srv"]
    # Only the container's work is in the new tree, not the engine's bound /etc files.
    flist = lambda ref: node.root / "images" / (json.loads(node.out("image", "inspect", ref))[0]["Id"].split(":")[-1] + ".fl")
    changes = json.loads(node("flist", "diff", flist(image), flist("committed:1"), "--format", "json", rc=1).stdout)
    paths = {c["path"]: c["kind"] for c in changes}
    assert paths["/srv/new"] == "A" and paths["/etc/group"] == "D" and paths["/etc/passwd"] == "C"
    assert not {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"} & set(paths)
    cmd = json.loads(node.out("image", "inspect", "committed:1"))[0]["Config"]["Cmd"]
    assert cmd[:2] == ["sh", "-c"] and cmd[2].startswith("mkdir -p /srv")
    assert "committed:1" in node.out("images")
    # A running container is paused while its layer is read, and runs on after.
    node("run", "-d", "--name", "c2", image, "sh", "-c", "echo live > /live; sleep 60")
    wait_for(lambda: node("exec", "c2", "cat", "/live", rc=None).returncode == 0, what="the file written")
    node("commit", "c2", "committed:2")
    assert node.out("run", "--rm", "committed:2", "cat", "/live") == "live"
    assert node.out("inspect", "-f", "{{.State.Status}}", "c2") == "running"
    assert b"no such container" in node("commit", "nosuch", "x:1", rc=2).stderr.lower()
    node("rm", "-f", "c1", "c2")
