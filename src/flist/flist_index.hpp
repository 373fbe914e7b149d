// Indexed, thread-safe queries on a .fl file, for readers that must not load a whole flist
// (the lazy mount). Uses rfs's own indexes (inode.parent, inode.name, block.ino). Rows are
// returned as they are; validate the file once with load_flist() before trusting it.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/sqlite.hpp"
#include "flist/tree.hpp"

namespace tiffin {

struct InodeRow {
  uint64_t ino = 0, parent = 0;
  std::string name;
  uint64_t size = 0, rdev = 0;
  uint32_t uid = 0, gid = 0, mode = 0;
  int64_t ctime = 0, mtime = 0;
  uint32_t nlink = 1;
};

class FlistIndex {
 public:
  static Result<std::unique_ptr<FlistIndex>> open(const std::string& path);
  ~FlistIndex();

  // Rows are returned as the inode their content belongs to: a hard link resolves to the inode it
  // links to, so every name of one file has one inode number; `nlink` counts its names.
  Result<InodeRow> inode(uint64_t ino);  // cached
  Result<std::optional<InodeRow>> lookup(uint64_t parent, const std::string& name);
  // Sorted by name. A hard link is listed under the inode number it resolves to (as readdir must
  // report what stat reports); its other fields, and nlink, are left to inode()/lookup().
  Result<std::vector<InodeRow>> children(uint64_t parent);
  Result<std::vector<BlockRef>> blocks(uint64_t ino);
  Result<std::string> link(uint64_t ino);
  Result<std::vector<Xattr>> xattrs(uint64_t ino);

 private:
  // One connection with its prepared statements; pooled, one per concurrent caller.
  struct Conn {
    sql::Db db;
    sql::Stmt by_ino, by_name, children, blocks, link, xattrs, link_target, link_count;
  };
  explicit FlistIndex(std::string path) : path_(std::move(path)) {}
  Result<std::unique_ptr<Conn>> acquire();
  void release(std::unique_ptr<Conn> c);
  template <class F>
  auto with(F&& f) -> decltype(f(std::declval<Conn&>()));

  std::string path_;
  Result<InodeRow> resolve_hardlink(Conn& c, InodeRow row);
  bool has_xattrs_ = false, has_hardlinks_ = false;
  std::mutex pool_mu_, cache_mu_;
  std::vector<std::unique_ptr<Conn>> pool_;
  std::unordered_map<uint64_t, InodeRow> cache_;
};

}  // namespace tiffin
