// The node's block cache, shared by every process that reads flists (one mount process per
// flist, unpack, cat). It holds *plain* block content, inserted only after the block was
// verified against its id and key, as files <dir>/<hex[0:2]>/<hex> written to a temp file and
// renamed (a partial block never counts as a hit). An SQLite index in the same directory (WAL,
// busy timeout) records each block's size and last use, so all processes share one size bound
// and one LRU order, and the cache survives restarts. Eviction unlinks files: a reader that has a
// block open keeps reading it. Besides blocks, the cache holds files materialised from their
// blocks (the FUSE passthrough's backing files, lazy_fs.cpp) under ids of their own.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <map>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/hash.hpp"
#include "common/sqlite.hpp"

namespace tiffin {

struct BlockCacheOptions {
  std::string dir;
  uint64_t max_bytes = uint64_t(2) << 30;  // evict least recently used blocks beyond this
  // A use of a block is written to the index at most this often per block and process, so that
  // hot reads do not turn into index writes. LRU order is exact to this interval.
  std::chrono::milliseconds use_record_interval{60000};
};

class BlockCache {
 public:
  static Result<std::unique_ptr<BlockCache>> open(const BlockCacheOptions& opts);

  // The cached plain block, opened read-only; nullopt on a miss.
  Result<std::optional<UniqueFd>> open_block(const Hash& id);
  Result<std::optional<Bytes>> get(const Hash& id);
  // Stores a verified plain block, then evicts down to the bound if needed.
  Result<void> insert(const Hash& id, std::span<const uint8_t> plain);
  // Stores an entry too large to hold in memory (a file materialised from its blocks): `fill`
  // writes it to a descriptor; it appears under `id` only once complete, then counts against
  // the bound and the LRU order like any block.
  Result<void> insert_with(const Hash& id, const std::function<Result<void>(int fd)>& fill);
  bool contains(const Hash& id) const;  // without touching its LRU position

  uint64_t size_bytes();  // total as recorded in the index
  uint64_t max_bytes() const { return opts_.max_bytes; }
  std::string block_path(const Hash& id) const;

 private:
  explicit BlockCache(BlockCacheOptions opts) : opts_(std::move(opts)) {}
  Result<std::optional<std::pair<UniqueFd, uint64_t>>> open_sized(const Hash& id);  // fd and size
  Result<void> touch(const Hash& id, uint64_t size);
  Result<void> evict();
  Result<int64_t> total_locked();

  BlockCacheOptions opts_;
  std::mutex mu_;  // guards the connection, its statements and recorded_
  sql::Db db_;
  sql::Stmt used_, insert_, add_total_, total_, oldest_, delete_;
  // Last time (ms) this process recorded a use of each block.
  std::map<Hash, int64_t> recorded_;
};

}  // namespace tiffin
