#include "store/block_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <chrono>
#include <vector>

namespace tiffin {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Result<std::unique_ptr<BlockCache>> BlockCache::open(const BlockCacheOptions& opts) {
  if (opts.dir.empty()) return fail(Errc::invalid_input, "block cache needs a directory");
  if (::mkdir(opts.dir.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("creating block cache " + opts.dir);
  std::unique_ptr<BlockCache> c(new BlockCache(opts));
  c->db_ = TRY_CTX(sql::Db::open_readwrite(opts.dir + "/index.db", true), "block cache index");
  TRY(
      c->db_.exec("PRAGMA busy_timeout=10000; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                  "CREATE TABLE IF NOT EXISTS block (id BLOB PRIMARY KEY, size INTEGER NOT NULL, used INTEGER NOT NULL);"
                  "CREATE INDEX IF NOT EXISTS block_used ON block (used);"
                  "CREATE TABLE IF NOT EXISTS total (one INTEGER PRIMARY KEY CHECK (one = 1), bytes INTEGER NOT NULL);"
                  "INSERT OR IGNORE INTO total VALUES (1, 0);"));
  c->used_ = TRY(sql::Stmt::prepare(c->db_, "UPDATE block SET used = ? WHERE id = ?"));
  c->insert_ = TRY(sql::Stmt::prepare(c->db_, "INSERT INTO block (id, size, used) VALUES (?, ?, ?)"));
  c->add_total_ = TRY(sql::Stmt::prepare(c->db_, "UPDATE total SET bytes = bytes + ?"));
  c->total_ = TRY(sql::Stmt::prepare(c->db_, "SELECT bytes FROM total"));
  c->oldest_ = TRY(sql::Stmt::prepare(c->db_, "SELECT id, size FROM block ORDER BY used, rowid"));
  c->delete_ = TRY(sql::Stmt::prepare(c->db_, "DELETE FROM block WHERE id = ?"));
  return c;
}

std::string BlockCache::block_path(const Hash& id) const {
  std::string hex = to_hex(id);
  return opts_.dir + "/" + hex.substr(0, 2) + "/" + hex;
}

Result<int64_t> BlockCache::total_locked() {
  int64_t bytes = TRY(total_.step()) ? total_.i64(0) : 0;
  total_.reset();
  return bytes;
}

uint64_t BlockCache::size_bytes() {
  std::lock_guard lock(mu_);
  auto t = total_locked();
  return t ? static_cast<uint64_t>(*t) : 0;
}

// Records a use (and, for a block the index does not know yet, its size) in one transaction.
Result<void> BlockCache::touch(const Hash& id, uint64_t size) {
  int64_t now = now_ms();
  std::lock_guard lock(mu_);
  auto it = recorded_.find(id);
  if (it != recorded_.end() && now - it->second < opts_.use_record_interval.count()) return {};
  recorded_[id] = now;
  TRY(db_.exec("BEGIN IMMEDIATE"));
  auto write = [&]() -> Result<void> {
    TRY(used_.bind(1, now).bind_blob(2, id).run());
    if (sqlite3_changes(db_.get()) == 0) {
      TRY(insert_.bind_blob(1, id).bind(2, static_cast<int64_t>(size)).bind(3, now).run());
      TRY(add_total_.bind(1, static_cast<int64_t>(size)).run());
    }
    return {};
  };
  if (auto r = write(); !r) {
    (void)db_.exec("ROLLBACK");
    return std::unexpected(r.error().context("block cache index"));
  }
  return db_.exec("COMMIT");
}

Result<std::optional<std::pair<UniqueFd, uint64_t>>> BlockCache::open_sized(const Hash& id) {
  UniqueFd fd(::open(block_path(id).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    return fail_errno("open " + block_path(id));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return fail_errno("stat " + block_path(id));
  TRY(touch(id, static_cast<uint64_t>(st.st_size)));
  return std::make_pair(std::move(fd), static_cast<uint64_t>(st.st_size));
}

Result<std::optional<UniqueFd>> BlockCache::open_block(const Hash& id) {
  auto found = TRY(open_sized(id));
  if (!found) return std::optional<UniqueFd>{};
  return std::optional<UniqueFd>(std::move(found->first));
}

Result<std::optional<Bytes>> BlockCache::get(const Hash& id) {
  auto found = TRY(open_sized(id));
  if (!found) return std::optional<Bytes>{};
  Bytes data(static_cast<size_t>(found->second));
  size_t n = TRY(read_full(found->first.get(), data));
  data.resize(n);
  return std::optional<Bytes>(std::move(data));
}

Result<void> BlockCache::insert(const Hash& id, std::span<const uint8_t> plain) {
  return insert_with(id, [&](int fd) { return write_all(fd, plain); });
}

Result<void> BlockCache::insert_with(const Hash& id, const std::function<Result<void>(int fd)>& fill) {
  std::string path = block_path(id);
  std::string dir = path.substr(0, path.rfind('/'));
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("mkdir " + dir);
  std::string tmp = path + ".tmp.XXXXXX";
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return fail_errno("creating " + tmp);
  auto written = [&]() -> Result<uint64_t> {
    TRY(fill(fd.get()));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return fail_errno("stat " + tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail_errno("rename " + tmp);
    return static_cast<uint64_t>(st.st_size);
  }();
  if (!written) {
    ::unlink(tmp.c_str());
    return std::unexpected(written.error().context("caching " + to_hex(id)));
  }
  TRY(touch(id, *written));
  return evict();
}

bool BlockCache::contains(const Hash& id) const { return ::access(block_path(id).c_str(), F_OK) == 0; }

Result<void> BlockCache::evict() {
  std::lock_guard lock(mu_);
  if (static_cast<uint64_t>(TRY(total_locked())) <= opts_.max_bytes) return {};
  // Evict down to 90% of the bound, so that eviction runs now and then rather than on every insert.
  const int64_t target = static_cast<int64_t>(opts_.max_bytes / 10 * 9);
  TRY(db_.exec("BEGIN IMMEDIATE"));
  auto run = [&]() -> Result<void> {
    int64_t bytes = TRY(total_locked());  // again, inside the transaction: another process may have evicted
    std::vector<std::pair<Hash, int64_t>> victims;
    while (bytes > target && TRY(oldest_.step())) {
      auto id = oldest_.blob(0);
      if (id.size() != 32) continue;
      Hash h;
      std::memcpy(h.data(), id.data(), 32);
      victims.emplace_back(h, oldest_.i64(1));
      bytes -= victims.back().second;
    }
    oldest_.reset();
    int64_t freed = 0;
    for (const auto& [h, size] : victims) {
      TRY(delete_.bind_blob(1, h).run());
      ::unlink(block_path(h).c_str());
      recorded_.erase(h);
      freed += size;
    }
    return add_total_.bind(1, -freed).run();
  };
  if (auto r = run(); !r) {
    (void)db_.exec("ROLLBACK");
    return std::unexpected(r.error().context("evicting from the block cache"));
  }
  return db_.exec("COMMIT");
}

}  // namespace tiffin
