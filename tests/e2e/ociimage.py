"""Builds OCI image layouts for the tests, byte by byte, with nothing but Python: layer tars with
whiteouts, opaque directories, hard links across layers, setuid files and xattrs; gzip, zstd or
plain layers; manifests, configs and multi-platform indexes. Also: a tree's description (to
compare what tiffin made with what umoci unpacks) and hostile layers."""
import gzip
import hashlib
import io
import json
import os
import stat
import subprocess
import tarfile
from pathlib import Path

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = {"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
         "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
         "none": "application/vnd.oci.image.layer.v1.tar"}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_bytes(members):
    """members: tuples
       ("dir", path, mode) ("file", path, data, mode[, {xattr: value}]) ("symlink", path, target)
       ("hardlink", path, target) ("whiteout", path) ("opaque", dir)
       ("raw", TarInfo, data): anything else, hostile entries included."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for m in members:
            kind = m[0]
            if kind == "raw":
                t.addfile(m[1], io.BytesIO(m[2]) if m[2] is not None else None)
                continue
            path = m[1]
            info = tarfile.TarInfo(path)
            info.mtime = 1700000000
            data = None
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, m[2]
            elif kind == "file":
                data = m[2]
                info.size, info.mode = len(data), m[3]
                if len(m) > 4:
                    info.pax_headers = {"SCHILY.xattr." + k: v for k, v in m[4].items()}
            elif kind == "symlink":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, m[2], 0o777
            elif kind == "hardlink":
                info.type, info.linkname, info.mode = tarfile.LNKTYPE, m[2], 0o644
            elif kind == "whiteout":
                d, _, name = path.rpartition("/")
                info.name = (d + "/" if d else "") + ".wh." + name
                info.size, info.mode = 0, 0o600
                data = b""
            elif kind == "opaque":
                info.name = path.rstrip("/") + "/.wh..wh..opq"
                info.size, info.mode = 0, 0o600
                data = b""
            else:
                raise ValueError(kind)
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
    return data


class Layout:
    """An OCI image layout directory."""

    def __init__(self, d: Path):
        self.dir = Path(d)
        (self.dir / "blobs/sha256").mkdir(parents=True, exist_ok=True)
        (self.dir / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        self.entries = []

    def blob(self, data):
        digest = sha256(data)
        (self.dir / "blobs/sha256" / digest[7:]).write_bytes(data)
        return digest

    def descriptor(self, media_type, data, **extra):
        return {"mediaType": media_type, "digest": self.blob(data), "size": len(data), **extra}

    def layer(self, members, how="gzip"):
        plain = tar_bytes(members)
        d = self.descriptor(LAYER[how], compress(plain, how))
        return d, sha256(plain)

    def image(self, layers, config=None, arch="amd64", variant=None):
        """layers: [(descriptor, diff_id)]; config: the "config" object (Cmd, Env, …)."""
        platform = {"os": "linux", "architecture": arch}
        if variant:
            platform["variant"] = variant
        cfg = {"created": "2026-01-01T00:00:00Z", **platform, "config": config or {},
               "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in layers]}, "history": []}
        cd = self.descriptor(OCI_CONFIG, json.dumps(cfg).encode())
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cd, "layers": [d for d, _ in layers]}
        return self.descriptor(OCI_MANIFEST, json.dumps(manifest).encode(), platform=platform)

    def index_of(self, manifests):
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        return self.descriptor(OCI_INDEX, json.dumps(index).encode())

    def tag(self, descriptor, name):
        d = dict(descriptor)
        d.pop("platform", None)
        d["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.entries.append(d)
        self.save()

    def save(self):
        (self.dir / "index.json").write_text(json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.entries}))

    def archive(self, out: Path):
        """The layout as an oci-archive tar."""
        subprocess.run(["tar", "-C", str(self.dir), "-cf", str(out), "."], check=True)
        return out


def busybox_members():
    members = [("dir", "bin", 0o755), ("dir", "etc", 0o755), ("dir", "tmp", 0o1777),
               ("file", "bin/busybox", Path("/bin/busybox").read_bytes(), 0o755)]
    for applet in ["sh", "ls", "cat", "echo", "true", "stat", "getfattr", "id", "env", "pwd", "sleep", "readlink"]:
        members.append(("symlink", "bin/" + applet, "busybox"))
    members.append(("file", "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n", 0o644))
    members.append(("file", "etc/group", b"root:x:0:\nuser:x:1000:\n", 0o644))
    return members


def describe_tree(root: Path):
    """Every path under root: type, permissions (with setuid & co), owner, size, content hash,
    link target, user xattrs, and which paths are hard links of each other."""
    out, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = "/" + str(p.relative_to(root))
            st = p.lstat()
            entry = {"mode": oct(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
            if stat.S_ISREG(st.st_mode):
                entry["sha"] = hashlib.sha256(p.read_bytes()).hexdigest()
                if st.st_nlink > 1:
                    inodes.setdefault(st.st_ino, []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                entry["link"] = os.readlink(p)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                entry["rdev"] = st.st_rdev
            try:
                entry["xattrs"] = {k: os.getxattr(p, k, follow_symlinks=False).hex()
                                   for k in sorted(os.listxattr(p, follow_symlinks=False)) if k.startswith("user.")}
            except OSError:
                pass
            out[rel] = entry
    links = sorted(sorted(v) for v in inodes.values() if len(v) > 1)
    return out, links
