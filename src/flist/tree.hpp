// An flist held in memory: the file tree with every node's metadata, blocks, symlink target,
// xattrs and hardlink relation, plus tags, routes, image config, signatures and the embedded
// prefetch profile (flist_profile.hpp). Pack builds
// one, the writer stores one, the reader loads (and validates) one; diff, merge, unpack and
// check work on it. Nodes live in a vector; node 0 is the root directory.
#pragma once

#include <sys/stat.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/hash.hpp"
#include "flist/image_config.hpp"
#include "store/block_codec.hpp"
#include "store/block_ref.hpp"
#include "store/router.hpp"

namespace tiffin {

struct Xattr {
  std::string name;
  Bytes value;
  bool operator==(const Xattr&) const = default;
};

struct Signature {
  Bytes public_key;  // ed25519, 32 bytes
  Bytes signature;   // 64 bytes
};

struct Node {
  std::string name;
  uint32_t mode = S_IFDIR | 0755;  // raw st_mode
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0, rdev = 0;
  int64_t ctime = 0, mtime = 0;
  std::string link;              // symlink target
  std::vector<BlockRef> blocks;  // regular files: content in 512 KiB chunks, in order
  std::vector<Xattr> xattrs;
  std::optional<size_t> hardlink;  // the node whose content this one shares (a hard link)
  size_t parent = 0;
  uint64_t ino = 0;                        // the inode number it had in the .fl it was read from (0: not read from one)
  std::map<std::string, size_t> children;  // directories: name → node index, sorted by name

  uint32_t type() const { return mode & S_IFMT; }
  bool is_dir() const { return type() == S_IFDIR; }
  bool is_reg() const { return type() == S_IFREG; }
  bool is_symlink() const { return type() == S_IFLNK; }
  // A regular file whose blocks do not cover its size: rfs writes such files (an upload that
  // failed leaves a file of N bytes with no block rows) and reads them as what the blocks hold.
  // tiffin lists them as they are and refuses to read them: reading gives an error, check
  // reports them, unpack leaves them empty with a warning.
  bool damaged() const { return is_reg() && blocks.size() != block_count(size); }
};

class Tree {
 public:
  static constexpr size_t kRoot = 0;
  Tree();

  std::vector<Node> nodes;
  std::map<std::string, std::string> tags;
  std::vector<Route> routes;
  std::optional<ImageConfig> config;
  std::vector<Signature> signatures;
  // Block ids in the order a workload first reads them (tiffin_profile; flist_profile.hpp).
  // Advisory: not signed; save_flist writes only ids the tree's files still use.
  std::vector<Hash> profile;

  // Adds `node` under `parent`, replacing a child of the same name. A directory that replaces a
  // directory keeps the old one's children (tar and layer semantics). Returns the new index.
  size_t put(size_t parent, Node node);
  void remove(size_t parent, const std::string& name);
  // Looks a path up without following symlinks.
  std::optional<size_t> find(std::string_view path) const;
  std::string path_of(size_t index) const;  // "/", "/etc/passwd"
  // Nodes reachable from the root in pre-order, children by name (the order inodes are written in).
  std::vector<size_t> preorder() const;
  // The distinct block ids all files use, sorted.
  std::vector<Hash> block_ids() const;
  // The damaged files (Node::damaged) reachable from the root, in pre-order.
  std::vector<size_t> damaged_files() const;
  // "damaged file /etc/x: 1234 bytes, 0 blocks" (the path escaped for a message).
  std::string describe_damage(size_t index) const;
};

}  // namespace tiffin
