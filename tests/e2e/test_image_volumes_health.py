"""What `run` makes of an image's Volumes and Healthcheck, end to end, as root.

Volumes: each path the image declares gets an anonymous volume (a 64-hex name) unless the user
mounts something there; an empty volume is filled from the image (docker's copy-up: contents,
owners, modes, hard links, symlinks as links), resolved inside the container's root so an image's
symlink cannot point the copy at the host; `nocopy` and non-empty volumes are left alone; the data
outlives a restart; `rm -v` and `--rm` remove the anonymous volumes, plain `rm` keeps them.

Health checks: the image's HEALTHCHECK (or --health-cmd) runs inside the container on its
interval; inspect shows State.Health (status, failing streak, the log of probes) and ps
"(healthy)"; failures within the start period do not count; a probe past its timeout is killed
and logged as docker logs it; --no-healthcheck turns the image's off; bad flags are refused.
"""
import os
import re
import time

import pytest

from conftest import needs_root
from engine import node, processes_with, wait_for  # noqa: F401 (fixture)
from ociimage import Layout, busybox_members

pytestmark = needs_root


def load_image(node, tmp, name, members=(), config=None):
    lay = Layout(tmp / ("layout-" + name))
    base = lay.layer(busybox_members() + list(members))
    lay.tag(lay.image([base], config), "latest")
    node("load", "-i", lay.dir)
    [img] = [i for i in node.images() if not i["RepoTags"]]
    node("tag", img["Id"], name)
    return name


def volumes(node):
    return {v["Name"]: v for v in node.rows("volume", "ls")}


SEED = [("dir", "data", 0o750), ("file", "data/seed.txt", b"seeded\n", 0o640), ("dir", "data/sub", 0o700),
        ("file", "data/sub/suid", b"#!/bin/sh\n", 0o4755), ("hardlink", "data/sub/again", "data/seed.txt"),
        ("symlink", "data/passwd", "/etc/passwd")]


def test_image_volumes_get_anonymous_volumes_filled_from_the_image(node, tmp_path):
    img = load_image(node, tmp_path, "vol", SEED, {"Cmd": ["sh"], "Volumes": {"/data": {}, "/empty/": {}}})
    cid = node.out("create", "--network", "none", img, "sh", "-c",
                   "cat /data/seed.txt; ls /empty | wc -l; echo $(date +%N) >> /data/runs")
    mounts = {m["Destination"]: m for m in node.inspect(cid)["Mounts"]}
    assert set(mounts) == {"/data", "/empty"}, mounts
    data = mounts["/data"]
    assert data["Type"] == "volume" and re.fullmatch(r"[0-9a-f]{64}", data["Name"]) and data["RW"]
    assert data["Name"] in volumes(node)
    src = data["Source"]
    # The copy is the image's tree, with its owners, modes, links.
    st = os.lstat(src + "/seed.txt")
    assert (st.st_mode & 0o7777, st.st_uid) == (0o640, 0)
    assert os.lstat(src).st_mode & 0o7777 == 0o750, "the volume takes the image directory's mode"
    assert os.lstat(src + "/sub/suid").st_mode & 0o7777 == 0o4755
    assert os.lstat(src + "/sub/again").st_ino == st.st_ino, "a hard link stays a hard link"
    assert os.readlink(src + "/passwd") == "/etc/passwd"
    node("start", "-a", cid)
    out = node.out("start", "-a", cid)
    assert out.splitlines() == ["seeded", "0"]
    assert len(open(src + "/runs").read().split()) == 2, "the volume's data outlives a restart"
    # rm keeps anonymous volumes (docker's rule); rm -v takes them.
    node("rm", cid)
    assert data["Name"] in volumes(node)
    node("volume", "rm", data["Name"], mounts["/empty"]["Name"])

    cid = node.out("create", "--network", "none", img, "true")
    names = [m["Name"] for m in node.inspect(cid)["Mounts"]]
    node("rm", "-v", cid)
    assert not set(names) & set(volumes(node))
    node("run", "--rm", "--network", "none", img, "true")
    assert volumes(node) == {}, "--rm takes the anonymous volumes with the container"


def test_user_mounts_win_and_nocopy_and_full_volumes_are_left_alone(node, tmp_path):
    img = load_image(node, tmp_path, "vol", SEED, {"Cmd": ["sh"], "Volumes": {"/data": {}}})
    # A named volume mounted where the image has a volume: no anonymous one; filled since empty.
    assert node.out("run", "--rm", "--network", "none", "-v", "mine:/data", img, "cat", "/data/seed.txt") == "seeded"
    assert list(volumes(node)) == ["mine"]
    # Not empty any more: left as it is.
    node("run", "--rm", "--network", "none", "-v", "mine:/data", img, "sh", "-c", "rm /data/seed.txt")
    assert node.out("run", "--rm", "--network", "none", "-v", "mine:/data", img, "ls", "/data/seed.txt", rc=1) == ""
    # nocopy: an empty volume stays empty.
    assert node.out("run", "--rm", "--network", "none", "-v", "bare:/data:nocopy", img, "ls", "-A", "/data") == ""
    # A bind mount is never filled.
    host = tmp_path / "bind"
    host.mkdir()
    node("run", "--rm", "--network", "none", "-v", f"{host}:/data", img, "true")
    assert list(host.iterdir()) == []
    assert node("run", "--rm", "--network", "none", "-v", "x:/data:bogus", img, "true", rc=125).stderr
    node("volume", "rm", "mine", "bare")


def test_an_image_volume_through_a_symlink_stays_inside_the_container(node, tmp_path):
    # /data is a link that climbs out: the copy resolves it inside the container's root, so the
    # volume gets the image's /etc, never the host's.
    img = load_image(node, tmp_path, "evil", [("symlink", "data", "../../../../../etc")],
                     {"Cmd": ["true"], "Volumes": {"/data": {}}})
    cid = node.out("create", "--network", "none", img)
    [m] = node.inspect(cid)["Mounts"]
    names = sorted(os.listdir(m["Source"]))
    assert names == ["group", "passwd"], names
    assert "user:x:1000" in open(m["Source"] + "/passwd").read()
    node("rm", "-v", cid)


def health(node, cid):
    return node.inspect(cid)["State"].get("Health")


def test_the_image_healthcheck_runs_and_ps_shows_it(node, tmp_path):
    img = load_image(node, tmp_path, "hc", config={
        "Cmd": ["sh", "-c", "sleep 0.5; touch /tmp/ok; exec sleep 1000"],
        "Healthcheck": {"Test": ["CMD-SHELL", "cat /tmp/ok && echo fine"], "Interval": 200_000_000, "Retries": 2}})
    cid = node.out("run", "-d", "--network", "none", img)
    assert health(node, cid)["Status"] in ("starting", "healthy")
    h = wait_for(lambda: (lambda h: h if h["Status"] == "healthy" else None)(health(node, cid)), 10, "healthy")
    assert h["FailingStreak"] == 0 and h["Log"][-1]["ExitCode"] == 0 and h["Log"][-1]["Output"] == "fine\n"
    assert h["Log"][-1]["Start"] <= h["Log"][-1]["End"]
    assert "(healthy)" in node.out("ps")
    node("exec", cid, "busybox", "rm", "/tmp/ok")
    h = wait_for(lambda: (lambda h: h if h["Status"] == "unhealthy" else None)(health(node, cid)), 10, "unhealthy")
    assert h["FailingStreak"] >= 2 and h["Log"][-1]["ExitCode"] == 1
    assert 0 < len(h["Log"]) <= 5
    assert "(unhealthy)" in node.out("ps")
    node("stop", "-t", "1", cid)
    assert health(node, cid)["Status"] == "unhealthy", "a stopped container is not healthy"
    # --no-healthcheck turns the image's off; --health-cmd replaces its test.
    cid2 = node.out("run", "-d", "--network", "none", "--no-healthcheck", img)
    time.sleep(0.6)
    assert health(node, cid2) is None and "(" not in node.out("ps", "--filter", "id=" + cid2)
    node("rm", "-f", cid, cid2)


def test_health_flags_start_period_and_timeout(node, tmp_path):
    img = load_image(node, tmp_path, "plain", config={"Cmd": ["sleep", "1000"]})
    # Failures within the start period do not count.
    cid = node.out("run", "-d", "--network", "none", "--health-cmd", "exit 3", "--health-interval", "100ms",
                   "--health-start-period", "1h", "--health-start-interval", "100ms", "--health-retries", "1", img)
    h = wait_for(lambda: (lambda h: h if len(h["Log"]) >= 3 else None)(health(node, cid)), 10, "three probes")
    assert h["Status"] == "starting" and h["FailingStreak"] == 0 and h["Log"][0]["ExitCode"] == 3
    node("rm", "-f", cid)
    # A probe past its timeout is killed, and logged as docker logs it.
    cid = node.out("run", "-d", "--network", "none", "--health-cmd", "sleep 77", "--health-interval", "100ms",
                   "--health-timeout", "300ms", "--health-retries", "1", img)
    h = wait_for(lambda: (lambda h: h if h["Status"] == "unhealthy" else None)(health(node, cid)), 10, "unhealthy")
    assert h["Log"][0]["ExitCode"] == -1 and h["Log"][0]["Output"] == "Health check exceeded timeout (300ms)"
    # Timed-out probes are killed, not left running: with a probe every 0.1 s, each cut at
    # 0.3 s, at most the current one lives.
    time.sleep(1.5)
    assert len(processes_with("sleep\x0077")) <= 1
    # A probe whose program does not exist fails with the runtime's reason.
    cid2 = node.out("run", "-d", "--network", "none", "--health-cmd", "exec /nope", "--health-interval", "100ms", img)
    h = wait_for(lambda: (lambda h: h if h["Log"] else None)(health(node, cid2)), 10, "a probe")
    assert h["Log"][0]["ExitCode"] != 0
    node("rm", "-f", cid, cid2)
    for bad in (["--health-interval", "10x"], ["--health-interval", "1ns"], ["--no-healthcheck", "--health-cmd", "true"],
                ["--health-retries", "-1"]):
        p = node("run", "--rm", "--network", "none", *bad, img, "true", rc=125)
        assert p.stderr, bad
    assert node.container_ids() == []
