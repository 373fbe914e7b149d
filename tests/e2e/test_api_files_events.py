"""`tiffin serve` with the docker CLIs the machine has: events (what the CLI, the API and the
shims record, past and live, filtered), stats, cp both ways (running and stopped containers,
hostile archives), diff, rename, save | load, history, push to a local registry and --init; and the
same through tiffin's own CLI (events, cp, diff, rename).
"""
import io
import json
import os
import subprocess
import tarfile
import time

import pytest

from apiserver import DOCKERS, serve_each_cli  # noqa: F401 (fixture)
from conftest import needs_root
from engine import image, node, wait_for  # noqa: F401 (fixtures)
from test_api_docker_cli import raw

pytestmark = [needs_root, pytest.mark.skipif(not DOCKERS, reason="no docker CLI")]
NONET = ("--network", "none")


@pytest.fixture
def serve(serve_each_cli):
    return serve_each_cli


def test_events_from_the_cli_the_api_and_the_shim(serve, node, image):
    since = f"{time.time() - 1:.3f}"
    # Made by tiffin's CLI (no server involved); die comes from the container's shim.
    node("run", "--name", "ev1", *NONET, "-l", "team=a", image, "sh", "-c", "exit 3", rc=3)
    node("rm", "ev1")
    serve.docker("volume", "create", "evvol")
    until = f"{time.time() + 1:.3f}"
    fmt = "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"
    lines = serve.out("events", "--since", since, "--until", until, "--filter", "container=ev1", "--format", fmt).splitlines()
    assert lines == ["container create ev1", "container start ev1", "container die ev1", "container destroy ev1"], lines
    exit_codes = serve.out("events", "--since", since, "--until", until, "--filter", "event=die", "--format",
                           "{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.team}}")
    assert exit_codes == "3 a"
    assert serve.out("events", "--since", since, "--until", until, "--filter", "type=volume", "--format", "{{.Action}} {{.Actor.ID}}") == \
        "create evvol"
    # Live: a follower sees what the CLI does next.
    env = dict(os.environ, DOCKER_HOST=f"unix://{serve.sock}", DOCKER_CONFIG=f"{serve.sock.parent}/dc")
    follow = subprocess.Popen([serve.cli, "events", "--filter", "type=container", "--filter", "event=start", "--format",
                               "{{.Action}} {{.Actor.Attributes.name}}"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        node("run", "--rm", "--name", "ev2", *NONET, image, "true")
        assert follow.stdout.readline().strip() == "start ev2"
    finally:
        follow.kill()
        follow.wait()
    # tiffin's own CLI reads the same log.
    own = node.out("events", "--since", since, "--until", until, "-f", "container=ev1", "--format", "json").splitlines()
    assert [json.loads(x)["Action"] for x in own] == ["create", "start", "die", "destroy"]
    # Bad filters and times are docker's 400s.
    serve.docker("events", "--since", since, "--until", until, "--filter", "colour=red", rc=1)


def test_stats(serve, image):
    serve.docker("run", "-d", "--name", "st1", *NONET, image, "sh", "-c", "x=$(seq 1 50000); exec sleep 1000")
    try:
        row = serve.out("stats", "--no-stream", "--format", "{{.Name}}|{{.MemUsage}}|{{.PIDs}}|{{.CPUPerc}}", "st1")
        name, mem, pids, cpu = row.split("|")
        assert name == "st1" and int(pids) >= 1 and cpu.endswith("%")
        used, limit = mem.split(" / ")
        assert used != "0B" and limit != "0B", row
        one = json.loads(raw(serve.sock, b"GET /containers/st1/stats?stream=false&one-shot=true HTTP/1.1\r\nHost: x\r\n\r\n")
                         .split(b"\r\n\r\n", 1)[1])
        assert one["name"] == "/st1" and one["pids_stats"]["current"] >= 1 and one["memory_stats"]["usage"] > 0
    finally:
        serve.docker("rm", "-f", "st1")


def test_cp_both_ways_running_and_stopped(serve, node, image, tmp_path):
    serve.docker("run", "-d", "--name", "cp1", *NONET, "-v", "cpdata:/data", image, "sh", "-c",
                 "mkdir -p /srv/app && echo hello > /srv/app/a.txt && ln -sf a.txt /srv/app/link && echo vol > /data/v && exec sleep 1000")
    try:
        wait_for(lambda: serve.docker("exec", "cp1", "cat", "/data/v", rc=None).returncode == 0, what="the files")
        out = tmp_path / "out"
        out.mkdir()
        serve.docker("cp", "cp1:/srv/app", str(out))
        assert (out / "app" / "a.txt").read_text() == "hello\n" and os.readlink(out / "app" / "link") == "a.txt"
        serve.docker("cp", "cp1:/srv/app/a.txt", str(out / "renamed.txt"))
        assert (out / "renamed.txt").read_text() == "hello\n"
        serve.docker("cp", "cp1:/data/v", str(out))  # a volume of the running container
        assert (out / "v").read_text() == "vol\n"
        tar = serve.docker("cp", "cp1:/srv/app", "-").stdout
        assert sorted(tarfile.open(fileobj=io.BytesIO(tar)).getnames()) == ["app", "app/a.txt", "app/link"]
        # Into the container: a directory, and a file under a new name.
        src = tmp_path / "in"
        (src / "sub").mkdir(parents=True)
        (src / "sub" / "f").write_text("from host\n")
        serve.docker("cp", str(src), "cp1:/srv/")
        assert serve.out("exec", "cp1", "cat", "/srv/in/sub/f") == "from host"
        serve.docker("cp", str(src / "sub" / "f"), "cp1:/srv/new-name")
        assert serve.out("exec", "cp1", "cat", "/srv/new-name") == "from host"
        # Stopped: its rootfs and volumes are still there.
        serve.docker("stop", "-t", "0", "cp1")
        serve.docker("cp", str(src / "sub" / "f"), "cp1:/data/while-stopped")
        serve.docker("cp", "cp1:/srv/new-name", str(out / "from-stopped"))
        assert (out / "from-stopped").read_text() == "from host\n"
        # A volume's root under a new name: its entries are the volume's, named as in the container.
        serve.docker("cp", "cp1:/data", str(out / "vol-copy"))
        assert sorted(os.listdir(out / "vol-copy")) == ["v", "while-stopped"]
        node("cp", "cp1:/data", str(out / "vol-copy2"))
        assert sorted(os.listdir(out / "vol-copy2")) == ["v", "while-stopped"]
        serve.docker("start", "cp1")
        assert serve.out("exec", "cp1", "cat", "/data/while-stopped") == "from host"
        # Errors: a missing path, a missing container.
        # (28 shows the server's message; 20.10 its own for the 404 of the HEAD, as with dockerd)
        err = serve.docker("cp", "cp1:/nope", str(out), rc=1).stderr
        assert b"Could not find the file /nope" in err or b"No such container:path: cp1:/nope" in err
        serve.docker("cp", "nosuch:/etc", str(out), rc=1)
    finally:
        serve.docker("rm", "-f", "-v", "cp1")
        serve.docker("volume", "rm", "cpdata", rc=None)


def hostile_tar(name, data=b"x", link=None):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo(name)
        if link:
            info.type, info.linkname = tarfile.SYMTYPE, link
            t.addfile(info)
        else:
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_cp_refuses_what_leads_out(serve, image, tmp_path):
    serve.docker("run", "-d", "--name", "cp2", *NONET, image, "sh", "-c", "ln -s / /escape; exec sleep 1000")
    try:
        wait_for(lambda: serve.docker("exec", "cp2", "ls", "/escape/tmp", rc=None).returncode == 0, what="the symlink")
        for name in ["../../../../tmp/owned-by-cp", "/abs-owned"]:
            body = hostile_tar(name)
            answer = raw(serve.sock, b"PUT /containers/cp2/archive?path=/tmp HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
                         + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
            assert b'"message"' in answer
        assert not os.path.exists("/tmp/owned-by-cp") and not os.path.exists("/abs-owned")
        # The container's symlink to / resolves to its own root, never the host's.
        marker = f"tiffin-cp-{os.getpid()}"
        (tmp_path / marker).write_text("m")
        serve.docker("cp", str(tmp_path / marker), "cp2:/escape/tmp/")
        assert not os.path.exists(f"/tmp/{marker}")
        assert serve.out("exec", "cp2", "cat", f"/tmp/{marker}") == "m"
        # Not a tar.
        answer = raw(serve.sock, b"PUT /containers/cp2/archive?path=/tmp HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    finally:
        serve.docker("rm", "-f", "cp2")


def test_diff_and_rename(serve, node, image):
    serve.docker("run", "-d", "--name", "df1", *NONET, image, "sh", "-c",
                 "echo x > /added; rm /bin/true; echo y >> /etc/passwd; exec sleep 1000")
    try:
        # The shell makes the three changes one after the other: wait for the last.
        wait_for(lambda: "C /etc/passwd" in serve.out("diff", "df1"), what="the changes")
        changes = serve.out("diff", "df1").splitlines()
        assert "D /bin/true" in changes and "C /etc/passwd" in changes and "C /etc" in changes, changes
        assert node.out("diff", "df1").splitlines() == changes
        serve.docker("rename", "df1", "df2")
        assert serve.out("ps", "--format", "{{.Names}}") == "df2"
        assert "df2" in node.out("ps")
        serve.docker("create", "--name", "other", *NONET, image, "true")
        err = serve.docker("rename", "df2", "other", rc=1).stderr
        assert b'The container name "/other" is already in use by container' in err
        node("rename", "df2", "df3")
        assert serve.out("inspect", "-f", "{{.Name}}", "df3") == "/df3"
    finally:
        serve.docker("rm", "-f", "df1", "df2", "df3", "other", rc=None)


def test_save_load_history_and_push(serve, node, image, tmp_path):
    archive = tmp_path / "img.tar"
    serve.docker("save", "-o", str(archive), image)
    names = tarfile.open(archive).getnames()
    assert "manifest.json" in names
    serve.docker("tag", image, "copy:1")
    serve.docker("rmi", "copy:1")
    loaded = serve.out("load", "-i", str(archive))
    assert f"Loaded image: {image}" in loaded
    # save | load through pipes, under another name.
    serve.docker("tag", image, "piped:2")
    saved = serve.docker("save", "piped:2").stdout
    serve.docker("rmi", "piped:2")
    assert "Loaded image: piped:2" in serve.docker("load", input=saved).stdout.decode()
    assert serve.out("images", "-q", "piped:2") != ""
    history = serve.out("history", "--format", "{{.CreatedBy}}|{{.Size}}", image).splitlines()
    assert len(history) == 1 and history[0].startswith("tiffin: ")
    from registry import Registry
    registry = Registry(tmp_path / "registry")
    try:
        target = f"{registry.host}/team/pushed:1"
        serve.docker("tag", image, target)
        out = serve.out("push", target)
        assert "digest: sha256:" in out, out
        serve.docker("rmi", target)
        serve.docker("pull", target)
        assert serve.out("run", "--rm", *NONET, target, "echo", "round trip") == "round trip"
    finally:
        registry.stop()


def test_init_as_pid_1(serve, node, image):
    """--init (docker's docker-init): the host's tini-static is pid 1, the program its child,
    signals reach it, zombies are reaped; the same from tiffin's own CLI."""
    assert serve.out("run", "--rm", "--init", *NONET, image, "cat", "/proc/1/cmdline").split("\0")[:2] == ["/sbin/docker-init", "--"]
    assert node.out("run", "--rm", "--init", *NONET, image, "sh", "-c", "echo $$") != "1"
    serve.docker("run", "-d", "--name", "in1", "--init", *NONET, image, "sleep", "1000")
    try:
        assert serve.out("inspect", "-f", "{{.HostConfig.Init}}", "in1") == "true"
        start = time.time()
        serve.docker("stop", "-t", "10", "in1")  # tini forwards SIGTERM: no 10 s wait for a SIGKILL
        assert time.time() - start < 5
        assert serve.out("inspect", "-f", "{{.State.ExitCode}}", "in1") == "143"
    finally:
        serve.docker("rm", "-f", "in1")
