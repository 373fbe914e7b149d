"""The node's trust policy (engine/trust_policy.hpp) end to end, as root: publishers' keys made
and flists signed with `tiffin flist keygen|sign`, trusted with `tiffin node trust`; with
require-signed, a signed image runs, and an unsigned one, one changed after signing and one
signed by a key the node does not trust are refused (exit 125, the reason named) before
anything is made: no container, no mount, no shim. Pulls from a hub, registry conversions,
imports and `flist mount` follow the same policy; with it off nothing changes."""
import json
import shutil

import pytest

from conftest import needs_root
from engine import Node, _mounts_under, image, node, processes_with  # noqa: F401 (fixtures)
from test_hub import Hub

pytestmark = needs_root


def keygen(node, path):
    """A publisher's key pair (path, path.pub); its public key in hex."""
    return node.out("flist", "keygen", path)


def stored_flist(node, image):
    return node.inspect(image)["Flist"]


def sign_copy(node, src, dst, key, tamper=False):
    shutil.copy(src, dst)
    node("flist", "sign", dst, "-k", key)
    if tamper:  # an edit in place after signing: the signature row stays, the content changed
        node("flist", "tag", "set", dst, "version=evil")
    return dst


def refused(node, *args, rc=125):
    p = node(*args, rc=rc)
    return p.stderr.decode()


def image_mounts(node):
    return _mounts_under(node.run_root / "mounts")


def test_require_signed_runs_only_flists_of_trusted_publishers(node, image, tmp_path):
    pub = keygen(node, tmp_path / "publisher")
    other = keygen(node, tmp_path / "other")
    base = stored_flist(node, image)
    signed = sign_copy(node, base, tmp_path / "signed.fl", tmp_path / "publisher")
    untrusted = sign_copy(node, base, tmp_path / "untrusted.fl", tmp_path / "other")
    tampered = sign_copy(node, base, tmp_path / "tampered.fl", tmp_path / "publisher", tamper=True)
    assert node.out("node", "trust", "policy") == "any"
    assert node.out("run", "--rm", image, "echo", "unsigned runs") == "unsigned runs", "no policy: nothing changes"

    assert node.out("node", "trust", "add", "--file", tmp_path / "publisher.pub") == pub
    assert node.out("node", "trust", "policy", "require-signed") == "require-signed"
    assert node.out("node", "trust", "ls") == pub
    assert json.loads((node.root / "trust.json").read_text()) == {"require_signed": True, "keys": [pub]}

    # The signed flist runs, from its file (imported by tiffin-full on the way) and by name.
    assert node.out("run", "--rm", signed, "echo", "signed runs") == "signed runs"
    node("import", signed, "signed:1")
    assert node.out("run", "--rm", "signed:1", "echo", "by name") == "by name"
    info = node.inspect("signed:1")  # tiffin inspect finds images too
    assert (info["TiffinSigner"], info["TiffinSignerTrusted"]) == (pub, True)
    assert node.inspect(image)["TiffinSigner"] == ""
    rows = {r["Repository"]: r for r in node.rows("images", "--signers")}
    assert rows["signed"]["Signer"] == pub and rows["signed"]["SignerTrusted"] == "true"
    assert rows["busybox"]["Signer"] == ""
    table = node.out("images", "--signers")
    assert "SIGNER" in table.splitlines()[0] and pub[:12] in table
    assert "SIGNER" not in node.out("images"), "docker's table stays as it was without --signers"
    mounts_before = image_mounts(node)

    # Refused before anything is made: the reason named, no container, mount or shim.
    err = refused(node, "run", "--rm", image, "true")
    assert "refusing busybox" in err and "unsigned" in err, err
    err = refused(node, "create", "--name", "nope", image, "true")
    assert "unsigned" in err, err
    err = refused(node, "run", "--rm", untrusted, "true")
    assert f"signed by {other}, which this node does not trust" in err, err
    err = refused(node, "run", "--rm", tampered, "true")
    assert f"the signature by {pub} does not match its content" in err, err
    assert node.container_ids() == []
    assert image_mounts(node) == mounts_before, "no image of a refused flist was mounted"
    assert processes_with(str(node.run_root / "c")) == [], "no shim"
    assert len(node.images()) == 2, "the refused .fl files did not enter the store"

    # The other ways in: imports of .fl files, packs and conversions, mounts.
    err = refused(node, "import", tampered, "t:1", rc=2)
    assert "does not match its content" in err, err
    err = refused(node, "import", tmp_path / "busybox-rootfs", "dir:1", rc=2)
    assert "carries no publisher signature" in err, err
    err = refused(node, "run", "--rm", tmp_path / "busybox-rootfs", "true")
    assert "carries no publisher signature" in err, err
    # Refused before the registry is asked anything: nothing listens on port 1.
    err = refused(node, "pull", "docker://127.0.0.1:1/library/busybox:1", rc=2)
    assert "refusing registry image" in err, err
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    err = refused(node, "flist", "mount", base, mnt, "--daemon", rc=2)
    assert "unsigned" in err, err
    assert _mounts_under(mnt) == []
    node("flist", "mount", signed, mnt, "--daemon", "--cache", tmp_path / "cache")
    try:
        assert (mnt / "bin" / "busybox").exists()
    finally:
        node("flist", "umount", mnt)

    # Trusting the other publisher lets its flist in; a key's removal refuses it again.
    node("node", "trust", "add", other)
    assert node.out("run", "--rm", untrusted, "echo", "now trusted") == "now trusted"
    node("node", "trust", "rm", other)
    assert "which this node does not trust" in refused(node, "run", "--rm", untrusted, "true")
    assert "not trusted" in refused(node, "node", "trust", "rm", other, rc=2)

    # Back to any: everything runs as before.
    node("node", "trust", "policy", "any")
    assert node.out("run", "--rm", image, "echo", "again") == "again"
    assert node.out("run", "--rm", tampered, "echo", "tampered runs without a policy") == "tampered runs without a policy"


def test_keys_are_checked_and_an_unreadable_policy_fails_closed(node, image, tmp_path):
    keygen(node, tmp_path / "k")
    for bad in ["abcd", "zz" * 32, "00" * 32, "01" + "00" * 31]:
        assert "not" in refused(node, "node", "trust", "add", bad, rc=2)
    (tmp_path / "junk.pub").write_text("hello\n")
    assert "junk.pub" in refused(node, "node", "trust", "add", "--file", tmp_path / "junk.pub", rc=2)
    refused(node, "node", "trust", "add", rc=2)
    key = (tmp_path / "k.pub").read_text().strip()
    assert node.out("node", "trust", "add", key.upper()) == key
    assert node.out("node", "trust", "add", key) == key, "twice is once"
    assert node.out("node", "trust", "ls") == key
    p = node("node", "trust", "policy", "require-signed")
    assert b"warning" not in p.stderr
    node("node", "trust", "rm", key)
    assert b"every flist is refused" in node("node", "trust", "policy", "require-signed").stderr
    (node.root / "trust.json").write_text("{not json")
    # A policy that cannot be read fails closed, and says where.
    assert "trust.json" in refused(node, "run", "--rm", image, "true")
    assert "trust.json" in refused(node, "node", "trust", "ls", rc=1)
    assert node.container_ids() == []


def test_an_image_stored_before_its_signatures_were_recorded_is_verified_once(node, image, tmp_path):
    pub = keygen(node, tmp_path / "publisher")
    signed = sign_copy(node, stored_flist(node, image), tmp_path / "signed.fl", tmp_path / "publisher")
    node("import", signed, "signed:1")
    image_id = node.inspect("signed:1")["Id"].removeprefix("sha256:")
    record = node.root / "images" / f"{image_id}.signatures"
    assert json.loads(record.read_text()) == [{"public_key": pub, "valid": True}]
    record.unlink()  # as an image stored by an older tiffin has none
    node("node", "trust", "add", pub)
    node("node", "trust", "policy", "require-signed")
    # The lean tiffin has no verifier of its own: tiffin-full verifies, the record comes back.
    assert node.out("run", "--rm", "signed:1", "echo", "verified") == "verified"
    assert json.loads(record.read_text()) == [{"public_key": pub, "valid": True}]
    node("rmi", "signed:1")
    assert not record.exists(), "the record goes with its image"


def test_a_hub_flist_is_checked_when_pulled(node, image, tmp_path):
    hub = Hub(tmp_path / "hub").start()
    other = Node(tmp_path / "other")
    try:
        token = hub.token("alice")
        pub = keygen(node, tmp_path / "publisher")
        node("push", image, f"{hub.url}/alice/busybox:1", "--token", token)
        # A push gives the hub a copy routed to the hub: the publisher signs that copy (the
        # routes are signed too) and uploads it again.
        node("pull", f"{hub.url}/alice/busybox:1", "-o", tmp_path / "hub.fl")
        sign_copy(node, tmp_path / "hub.fl", tmp_path / "hub-signed.fl", tmp_path / "publisher")
        node("push", tmp_path / "hub-signed.fl", f"{hub.url}/alice/signed:1", "--token", token)
        # Signed before the push, its routes were the node's store: the hub's copy no longer matches.
        local = sign_copy(node, stored_flist(node, image), tmp_path / "local-signed.fl", tmp_path / "publisher")
        node("push", local, f"{hub.url}/alice/early:1", "--token", token)
        other("node", "trust", "add", pub)
        other("node", "trust", "policy", "require-signed")
        err = refused(other, "pull", f"{hub.url}/alice/busybox:1", rc=2)
        assert f"refusing {hub.url}/alice/busybox:1" in err and "unsigned" in err, err
        assert "unsigned" in refused(other, "run", "--rm", f"{hub.url}/alice/busybox:1", "true")
        err = refused(other, "pull", f"{hub.url}/alice/early:1", rc=2)
        assert f"the signature by {pub} does not match its content" in err, err
        assert other.out("images", "-q") == "", "nothing entered the store"
        assert image_mounts(other) == [], "nothing was mounted"
        assert other.out("run", "--rm", f"{hub.url}/alice/signed:1", "echo", "from the hub") == "from the hub"
        assert other.inspect(f"{hub.url.removeprefix('http://')}/alice/signed:1")["TiffinSigner"] == pub
    finally:
        leaks = other.teardown()
        hub.stop()
        assert not leaks, leaks
