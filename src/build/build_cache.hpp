// The build cache: the layer each RUN step made (and each ADD of a tar), by the step's key (a
// hash chained over the steps before it; builder.hpp). A layer is an .fl of only the files the
// step changed — metadata: its blocks live in the node's store — kept as <dir>/<key>.fl, with an
// index (<dir>/cache.db) of each entry's content bytes and when a build last used it, so that
// the cache can be listed, pruned least recently used first and kept under a bound. Shared by
// every build on the node (several at once: SQLite's locking, files written atomically).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/hash.hpp"
#include "common/sqlite.hpp"
#include "flist/tree.hpp"

namespace tiffin::build {

struct CacheUsage {
  size_t entries = 0;
  uint64_t content_bytes = 0;     // the file content the layers describe
  uint64_t file_bytes = 0;        // the .fl files themselves
  std::vector<std::string> keys;  // prune: the entries removed
};

// Which entries prune removes, least recently used first: those unused for at least
// `unused_for_seconds`, until at most `keep_bytes` of content is left. Both 0: every entry.
struct PruneOptions {
  int64_t unused_for_seconds = 0;
  uint64_t keep_bytes = 0;
};

class BuildCache {
 public:
  static Result<BuildCache> open(const std::string& dir);

  // The layer stored under `key`, marked as used now; none when there is none (or it is unreadable).
  Result<std::optional<Tree>> get(const Hash& key);
  Result<void> put(const Hash& key, const Tree& layer);
  // The image a whole build gave, by its final step's key: a build whose every input is the same
  // as then finds it here and makes nothing (the caller checks the image is still stored).
  Result<std::optional<std::string>> image_for(const Hash& final_key);
  Result<void> put_image(const Hash& final_key, const std::string& image_id);
  Result<CacheUsage> usage();
  // Removes entries, least recently used first, and every image_for shortcut; what was removed.
  Result<CacheUsage> prune(const PruneOptions& o);

  const std::string& dir() const { return dir_; }

 private:
  BuildCache(std::string dir, sql::Db db) : dir_(std::move(dir)), db_(std::move(db)) {}
  std::string path_of(const std::string& key_hex) const { return dir_ + "/" + key_hex + ".fl"; }
  Result<void> forget(const std::string& key_hex);

  std::string dir_;
  sql::Db db_;
};

// The content bytes of a tree's regular files (hard links counted once).
uint64_t tree_content_bytes(const Tree& t);

}  // namespace tiffin::build
