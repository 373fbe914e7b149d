"""tiffin build against docker build, as root: the same Dockerfiles and contexts, built by
`tiffin build` and by a dockerd of the test's own (20.10, the legacy builder: DOCKER_BUILDKIT=0),
over the same local busybox base, must give the same file trees and the same image config.

Trees: `tiffin flist unpack` of the image's flist against `docker create` + `docker export`,
compared per path (type, permissions, owner, content hash, link target), with what must differ
left out: times, directories' sizes, and the mount points docker's init layer adds to every
container (/etc/hosts, /etc/hostname, /etc/resolv.conf, /etc/mtab, /.dockerenv, /dev/*).
Configs: `tiffin image inspect` against `docker image inspect`, key by key.

Every check asserts docker's behaviour; a scenario gathers all its differences and fails once
with the whole list. Not compared (docker's legacy builder has no such thing): COPY --chmod,
heredocs, `# syntax=`. Needs dockerd (docker.io) and a docker CLI; nothing leaves loopback (the
dockerd of tests/e2e/dockerd.py pulls nothing).
"""
import hashlib
import json
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from buildbase import base_rootfs
from conftest import needs_root, release_only
from dockerd import Docker
from engine import node  # noqa: F401 (fixture)

pytestmark = [needs_root, release_only,
              pytest.mark.skipif(not shutil.which("dockerd"), reason="needs dockerd (Debian package docker.io)"),
              pytest.mark.skipif(not shutil.which("docker"), reason="needs the docker CLI")]

# What docker adds to every container it creates (its init layer) and tiffin's image has no reason
# to hold: left out of both trees.
DOCKER_MOUNT_POINTS = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/mtab", "/.dockerenv", "/.dockerinit",
                       "/dev/console", "/dev/pts", "/dev/shm"}
CONFIG_KEYS = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels", "StopSignal",
               "Healthcheck", "OnBuild", "Shell"]


# ---- the base image, the same in both

@pytest.fixture
def docker(tmp_path):
    d = Docker(tmp_path)
    try:
        if not d.start():
            pytest.fail("dockerd did not start")
        yield d
    finally:
        d.stop()


@pytest.fixture
def bases(node, docker, tmp_path):
    """base:1 in tiffin and in dockerd, from the same tree, with the same config."""
    root = base_rootfs(tmp_path / "base-rootfs")
    node("import", root, "base:1", "--env", "PATH=/bin", "--cmd", "sh")
    tar = tmp_path / "base.tar"
    subprocess.run(["tar", "--numeric-owner", "-C", root, "-cf", tar, "."], check=True)
    dk(docker, "import", "--change", "ENV PATH=/bin", "--change", 'CMD ["sh"]', tar, "base:1")
    assert not differences({}, {}, tiffin_config(node, "base:1"), docker_config(docker, "base:1")), "the bases differ"
    return "base:1"


# ---- running both builders

def dk(docker, *args, env=None, timeout=180):
    p = subprocess.run(docker.cli(*map(str, args)), capture_output=True, timeout=timeout,
                       env=dict(os.environ, DOCKER_BUILDKIT="0", **(env or {})))
    assert p.returncode == 0, f"docker {args} exited {p.returncode}: {p.stdout.decode()[-3000:]}\n{p.stderr.decode()[-3000:]}"
    return p.stdout.decode()


def docker_config(docker, ref):
    return json.loads(dk(docker, "image", "inspect", ref))[0]["Config"]


def tiffin_config(node, ref):
    return json.loads(node.out("image", "inspect", ref))[0]["Config"]


def context(tmp_path, name, dockerfile, files=None):
    """A context directory: the Dockerfile and files (content, or (content, mode), or ("symlink",
    target), or None for an empty directory)."""
    ctx = tmp_path / name
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for path, what in (files or {}).items():
        p = ctx / path
        p.parent.mkdir(parents=True, exist_ok=True)
        if what is None:
            p.mkdir()
        elif what == "dir700":
            p.mkdir(mode=0o700)
        elif isinstance(what, tuple) and what[0] == "symlink":
            p.symlink_to(what[1])
        else:
            content, mode = what if isinstance(what, tuple) else (what, 0o644)
            p.write_bytes(content if isinstance(content, bytes) else content.encode())
            os.chmod(p, mode)
    return ctx


def build_both(node, docker, tmp_path, ctx, tag, *flags):
    """Builds ctx in both; returns (tiffin's tree, docker's tree, tiffin's config, docker's config)."""
    image_id = node.out("build", "-q", "-t", tag, *flags, ctx, timeout=300).splitlines()[-1]
    assert image_id.startswith("sha256:"), image_id
    ours = tmp_path / f"{tag.replace(':', '_')}-tiffin"
    subprocess.run([node.full(), "flist", "unpack", node.root / "images" / (image_id.removeprefix("sha256:") + ".fl"), ours],
                   check=True, capture_output=True)
    dk(docker, "build", "-q", "-t", tag, *flags, ctx, timeout=300)
    cid = dk(docker, "create", tag).strip()
    exported = tmp_path / f"{tag.replace(':', '_')}-docker.tar"
    dk(docker, "export", "-o", exported, cid)
    dk(docker, "rm", cid)
    return describe_tree(ours), describe_tar(exported), tiffin_config(node, tag), docker_config(docker, tag)


# ---- describing trees

def describe_tree(root: Path):
    """path -> (type, permissions, uid, gid, sha256 or link target) for every path under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            what = None
            if stat.S_ISREG(st.st_mode):
                what = hashlib.sha256(p.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                what = os.readlink(p)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                what = st.st_rdev
            out["/" + str(p.relative_to(root))] = (kind(st.st_mode), oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid, what)
    return normalise(out)


def describe_tar(path: Path):
    """The same description of an exported container, read from the tar itself (numeric owners;
    a hard link is the file it links to)."""
    out, members = {}, {}
    with tarfile.open(path) as t:
        for m in t.getmembers():
            name = "/" + m.name.removeprefix("./").rstrip("/")
            if name == "/":
                continue
            members[name] = m
            target = members.get("/" + m.linkname.removeprefix("./")) if m.islnk() else m
            if target.isreg():
                what = hashlib.sha256(t.extractfile(target).read()).hexdigest()
                typ = "file"
            elif m.issym():
                what, typ = m.linkname, "symlink"
            elif m.isdir():
                what, typ = None, "dir"
            elif m.ischr() or m.isblk():
                what, typ = os.makedev(m.devmajor, m.devminor), "chr" if m.ischr() else "blk"
            else:
                what, typ = None, "fifo" if m.isfifo() else "other"
            out[name] = (typ, oct(m.mode & 0o7777), m.uid, m.gid, what)
    return normalise(out)


def kind(mode):
    for test, name in [(stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "symlink"), (stat.S_ISCHR, "chr"),
                       (stat.S_ISBLK, "blk"), (stat.S_ISFIFO, "fifo")]:
        if test(mode):
            return name
    return "other"


def normalise(tree):
    return {p: v for p, v in tree.items() if p not in DOCKER_MOUNT_POINTS and not p.startswith("/dev/")}


def differences(ours, theirs, cfg_ours, cfg_theirs, keys=CONFIG_KEYS):
    diffs = []
    for path in sorted(set(ours) | set(theirs)):
        if ours.get(path) != theirs.get(path):
            diffs.append(f"{path}: tiffin {ours.get(path)} docker {theirs.get(path)}")
    for k in keys:
        if empty_is_none(cfg_ours.get(k)) != empty_is_none(cfg_theirs.get(k)):
            diffs.append(f"Config.{k}: tiffin {cfg_ours.get(k)!r} docker {cfg_theirs.get(k)!r}")
    return diffs


def empty_is_none(value):
    """An empty list, map or string is docker's null or absent key: how each is printed is
    test_empty_config_fields_print_as_docker_prints_them's business, not the builds'."""
    return None if value in ({}, [], "") else value


def assert_same(ours, theirs, cfg_ours, cfg_theirs, keys=CONFIG_KEYS):
    diffs = differences(ours, theirs, cfg_ours, cfg_theirs, keys)
    assert not diffs, "tiffin build differs from docker build:\n  " + "\n  ".join(diffs)


# ---- the scenarios

def test_empty_config_fields_print_as_docker_prints_them(node, docker, bases):
    """The imported base has no ports, volumes, labels or stop signal: docker prints null (or
    leaves StopSignal and ExposedPorts out); an empty {} or "" is another answer to a script
    that tests `.Config.Labels == null`."""
    ours, theirs = tiffin_config(node, bases), docker_config(docker, bases)
    diffs = [f"Config.{k}: tiffin {ours.get(k, '<absent>')!r} docker {theirs.get(k, '<absent>')!r}"
             for k in CONFIG_KEYS if ours.get(k, "<absent>") != theirs.get(k, "<absent>")]
    assert not diffs, "\n  ".join(["image inspect differs from docker's:", *diffs])


def payload_tgz(tmp_path):
    """A .tar.gz with owners, modes, a symlink and a directory of its own, for ADD to unpack."""
    out = tmp_path / "payload.tgz"
    with tarfile.open(out, "w:gz") as t:
        def add(name, typ, mode, uid=0, gid=0, data=b"", link=""):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid, info.mtime, info.linkname = typ, mode, uid, gid, 1_600_000_000, link
            info.size = len(data)
            t.addfile(info, __import__("io").BytesIO(data) if data else None)
        add("lib", tarfile.DIRTYPE, 0o750, 1234, 99)
        add("lib/data.txt", tarfile.REGTYPE, 0o600, 1234, 99, b"from the tar\n")
        add("lib/run", tarfile.REGTYPE, 0o755, data=b"#!/bin/sh\n")
        add("lib/link", tarfile.SYMTYPE, 0o777, link="data.txt")
        add("top.txt", tarfile.REGTYPE, 0o644, 5, 6, b"top\n")
    return out.read_bytes()


def test_every_instruction(node, docker, bases, tmp_path):
    ctx = context(tmp_path, "every", r"""ARG BASE=base:1
FROM ${BASE}
MAINTAINER someone@example.test
ARG GREETING=hello
ENV APP=/srv/app \
    MODE="production mode"
ENV LEGACY value with spaces
ENV PATH=/usr/local/bin:$PATH
LABEL org.example.name="demo" org.example.greeting=$GREETING "with space"="a b"
WORKDIR $APP
WORKDIR sub
COPY --chown=user:staff app.conf ./
COPY --chown=1000 run.sh /usr/local/bin/
COPY [ "run.sh", "/usr/local/bin/run2.sh" ]
COPY conf/ /etc/app/
COPY conf /etc/app2
COPY *.txt /texts/
COPY data/??.bin /bins/
COPY private.key secret-mode
COPY private /private-copy
ADD payload.tgz /opt/
ADD payload.tgz /unpacked/here
RUN echo "$GREETING from $(pwd) in $MODE" > /greeting && chmod 755 /usr/local/bin/run.sh
RUN ["/bin/sh", "-c", "echo exec form > /exec"]
SHELL ["/bin/sh", "-e", "-c"]
RUN test "$LEGACY" = "value with spaces" && echo shell-changed > /shell
RUN rm /etc/group /etc/app2/a.conf && rm -r /etc/app/nested && mkdir /etc/app/nested && echo new > /etc/app/nested/fresh
EXPOSE 8080 53/udp 9000-9001
VOLUME /data /cache
VOLUME ["/json"]
RUN echo lost > /data/in-volume; echo kept > /tmp/after-volume
USER user
RUN id > /tmp/id && echo mine > /home/user/mine
WORKDIR /home/user/work
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD cat /greeting
ONBUILD RUN echo triggered > /onbuild
ENTRYPOINT ["/usr/local/bin/run.sh"]
CMD ["default-arg"]
""", {"app.conf": "key=value\n", "run.sh": ("#!/bin/sh\necho run.sh \"$@\"\n", 0o700),
      "conf/a.conf": "a\n", "conf/nested/b.conf": ("b\n", 0o600), "conf/nested/empty": None,
      "conf/link": ("symlink", "a.conf"), "one.txt": "1", "two.txt": "2", "data/ab.bin": b"\0ab", "data/abc.bin": b"abc",
      "private.key": ("k", 0o400), "private": "dir700", "private/p": ("p", 0o600), "payload.tgz": payload_tgz(tmp_path)})
    ours, theirs, cfg_ours, cfg_theirs = build_both(node, docker, tmp_path, ctx, "every:1", "--build-arg", "GREETING=hi")
    assert theirs["/greeting"][4] == hashlib.sha256(b"hi from /srv/app/sub in production mode\n").hexdigest()
    diffs = differences(ours, theirs, cfg_ours, cfg_theirs)
    # docker commits a RUN's changes without the mount points it made for the container.
    unpacked = tmp_path / "every_1-tiffin"
    diffs += [f"{p}: in tiffin's image, a RUN container's mount point" for p in sorted(DOCKER_MOUNT_POINTS)
              if os.path.lexists(f"{unpacked}{p}")]
    assert not diffs, "tiffin build differs from docker build:\n  " + "\n  ".join(diffs)
    author = [json.loads(node.out("image", "inspect", "every:1"))[0].get("Author"),
              json.loads(dk(docker, "image", "inspect", "every:1"))[0].get("Author")]
    assert author[0] == author[1], f"Author: tiffin {author[0]!r} docker {author[1]!r}"


def test_multi_stage(node, docker, bases, tmp_path):
    ctx = context(tmp_path, "multi", """FROM base:1 AS builder
RUN mkdir -p /out/sub && echo compiled > /out/app.bin && echo y > /out/sub/y && chmod 700 /out/sub \\
    && chown 1000:50 /out/app.bin && ln -s app.bin /out/app.link
FROM base:1 AS tools
ENV TOOL=1
RUN echo tool > /tool
FROM base:1
COPY --from=builder /out/app.bin /usr/bin/
COPY --from=builder /out /copied-out
COPY --from=0 --chown=user /out/sub /sub
COPY --from=tools /tool /tool
RUN rm /etc/passwd && rm -r /copied-out/sub
""")
    assert_same(*build_both(node, docker, tmp_path, ctx, "multi:1"))


def test_dockerignore(node, docker, bases, tmp_path):
    ctx = context(tmp_path, "ignore", """FROM base:1
COPY . /ctx/
RUN rm /ctx/app.py
""", {"app.py": "x", "keep/old": "old", "secret.key": "s", "logs/a.log": "a", "logs/important.log": "i",
      "node_modules/pkg/index.js": "j", "docs/readme.md": "r", "docs/tmp/t.md": "t",
      ".dockerignore": "*.key\nlogs/*.log\n!logs/important.log\nnode_modules\n**/tmp\n# a comment\n"})
    assert_same(*build_both(node, docker, tmp_path, ctx, "ignore:1"))


def test_shell_forms_and_inherited_cmd(node, docker, bases, tmp_path):
    """ENTRYPOINT resets the Cmd it inherits; shell forms go through SHELL; ARG/ENV precedence."""
    ctx = context(tmp_path, "forms", """FROM base:1
ARG WHO=arg
ENV WHO=env
SHELL ["/bin/sh", "-e", "-c"]
RUN echo "$WHO" > /who
ENTRYPOINT exec echo hi
""")
    diffs = differences(*build_both(node, docker, tmp_path, ctx, "forms:1", "--build-arg", "WHO=given"))
    ctx = context(tmp_path, "cmdonly", """FROM base:1
ARG UNSET
ENV A=1 B=2
ENV A=one B=$A C=${UNSET:-dflt} D=$UNSET
CMD echo hi
LABEL a=1
USER 1000:50
WORKDIR rel
EXPOSE 80/TCP 7000-7001/udp
HEALTHCHECK NONE
STOPSIGNAL 9
""")
    diffs += differences(*build_both(node, docker, tmp_path, ctx, "cmdonly:1"))
    assert not diffs, "tiffin build differs from docker build:\n  " + "\n  ".join(diffs)


def test_onbuild_in_the_child(node, docker, bases, tmp_path):
    parent = context(tmp_path, "parent", "FROM base:1\nONBUILD COPY hello.txt /hello\nONBUILD RUN cat /hello > /seen\n")
    assert_same(*build_both(node, docker, tmp_path, parent, "parent:1"))
    child = context(tmp_path, "child", "FROM parent:1\nRUN echo child > /child\n", {"hello.txt": "from the child's context"})
    assert_same(*build_both(node, docker, tmp_path, child, "child:1"))
