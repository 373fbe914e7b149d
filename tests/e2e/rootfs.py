"""Builds a small but real root filesystem for the tests: busybox-static with its applet links,
device nodes, a fifo, setuid/setgid/sticky modes, foreign owners, xattrs in several namespaces,
hard links, empty, multi-block and sparse-ish files, and a socket (which pack skips)."""
import os
import shutil
import socket
import subprocess
from pathlib import Path


def build_rootfs(root: Path, with_privileged=True) -> Path:
    root.mkdir(parents=True)
    for d in ["bin", "sbin", "etc", "dev", "proc", "sys", "tmp", "var/log", "usr/share/doc", "home/user"]:
        (root / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2("/bin/busybox", root / "bin/busybox")
    for applet in ["sh", "ls", "cat", "echo", "true", "mount"]:
        os.symlink("busybox", root / "bin" / applet)
    os.symlink("/bin/busybox", root / "sbin/init")
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nuser:x:1234:5678::/home/user:/bin/sh\n")
    (root / "etc/hostname").write_text("tiffin\n")
    (root / "etc/empty").write_bytes(b"")
    (root / "usr/share/doc/big").write_bytes(os.urandom(3 * 512 * 1024 + 12345))
    (root / "usr/share/doc/zeros").write_bytes(b"\0" * (2 * 512 * 1024))
    (root / "usr/share/doc/zeros-copy").write_bytes(b"\0" * (2 * 512 * 1024))  # same blocks: dedup
    os.link(root / "etc/passwd", root / "etc/passwd.hardlink")
    os.link(root / "etc/passwd", root / "home/user/passwd.hardlink")
    (root / "bin/su").write_bytes(b"#!/bin/sh\n")
    os.chmod(root / "bin/su", 0o4755)
    (root / "bin/wall").write_bytes(b"#!/bin/sh\n")
    os.chmod(root / "bin/wall", 0o2755)
    os.chmod(root / "tmp", 0o1777)
    os.mkfifo(root / "var/log/fifo", 0o600)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(root / "var/log/sock"))
    s.close()
    os.setxattr(root / "etc/hostname", "user.comment", b"hello")
    os.setxattr(root / "usr/share/doc", "user.dir", b"\x00\x01binary")
    if with_privileged:
        os.mknod(root / "dev/null", 0o666 | 0o020000, os.makedev(1, 3))
        os.mknod(root / "dev/loop0", 0o660 | 0o060000, os.makedev(7, 0))
        os.chown(root / "home/user", 1234, 5678)
        os.chown(root / "etc/hostname", 1234, 5678)
        os.chown(root / "bin/sh", 1234, 5678, follow_symlinks=False)
        os.setxattr(root / "bin/busybox", "trusted.tiffin", b"t")
        os.setxattr(root / "bin/busybox", "security.capability",
                    bytes.fromhex("0100000200200000000000000000000000000000"))
    # Fixed times, last (creating entries changes a directory's mtime).
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for n in filenames + dirnames:
            os.utime(os.path.join(dirpath, n), (1500000000, 1500000000), follow_symlinks=False)
    os.utime(root, (1500000000, 1500000000))
    return root


def make_tar(src: Path, out: Path, compress: str = "") -> Path:
    """A tar of src made by GNU tar, with numeric owners and xattrs."""
    flags = {"": [], "gz": ["-z"], "zst": ["--zstd"], "xz": ["-J"]}[compress]
    subprocess.run(["tar", "-C", str(src), "--numeric-owner", "--xattrs", "--xattrs-include=*", "-c", *flags, "-f", str(out), "."],
                   check=True, capture_output=True)
    return out
