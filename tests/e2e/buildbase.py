"""The local base image tiffin build's tests build on (and dockerd's, for the parity tests)."""
import os
import subprocess
from pathlib import Path


def base_rootfs(root: Path) -> Path:
    """busybox with all its applets, a passwd and a group, a /tmp anyone may write."""
    for d in ["bin", "etc", "tmp", "root", "proc", "sys", "dev", "home/user"]:
        (root / d).mkdir(parents=True)
    subprocess.run(["cp", "/bin/busybox", root / "bin/busybox"], check=True)
    subprocess.run(["/bin/busybox", "--install", "-s", root / "bin"], check=True)
    for link in (root / "bin").iterdir():  # --install makes absolute links to the host's path
        if link.is_symlink():
            link.unlink()
            link.symlink_to("busybox")
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\nstaff:x:50:\nuser:x:1000:\n")
    os.chmod(root / "tmp", 0o1777)
    os.chown(root / "home/user", 1000, 1000)
    return root
