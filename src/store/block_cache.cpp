#include "store/block_cache.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <chrono>
#include <vector>

namespace tiffin {
namespace {

sqlite3* sq(void* p) { return static_cast<sqlite3*>(p); }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Result<void> exec(void* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(sq(db), sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return fail(Errc::io, std::string("block cache index: ") + msg);
  }
  return {};
}

// A prepared statement for one call; the cache index is small and these run rarely per block.
struct Query {
  sqlite3_stmt* st = nullptr;
  Query(void* db, const char* sql) { sqlite3_prepare_v2(sq(db), sql, -1, &st, nullptr); }
  ~Query() { sqlite3_finalize(st); }
  Query& blob(int i, std::span<const uint8_t> b) {
    sqlite3_bind_blob(st, i, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& i64(int i, int64_t v) {
    sqlite3_bind_int64(st, i, v);
    return *this;
  }
  int step() { return sqlite3_step(st); }
};

}  // namespace

Result<std::unique_ptr<BlockCache>> BlockCache::open(const BlockCacheOptions& opts) {
  if (opts.dir.empty()) return fail(Errc::invalid_input, "block cache needs a directory");
  if (::mkdir(opts.dir.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("creating block cache " + opts.dir);
  std::unique_ptr<BlockCache> c(new BlockCache(opts));
  sqlite3* db = nullptr;
  std::string index = opts.dir + "/index.db";
  if (sqlite3_open_v2(index.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return fail(Errc::io, "opening block cache index " + index + ": " + msg);
  }
  c->db_ = db;
  sqlite3_busy_timeout(db, 10000);  // other processes share the index
  TRY(exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
               "CREATE TABLE IF NOT EXISTS block (id BLOB PRIMARY KEY, size INTEGER NOT NULL, used INTEGER NOT NULL);"
               "CREATE INDEX IF NOT EXISTS block_used ON block (used);"
               "CREATE TABLE IF NOT EXISTS total (one INTEGER PRIMARY KEY CHECK (one = 1), bytes INTEGER NOT NULL);"
               "INSERT OR IGNORE INTO total VALUES (1, 0);"));
  return c;
}

BlockCache::~BlockCache() {
  if (db_) sqlite3_close_v2(sq(db_));
}

std::string BlockCache::block_path(const Hash& id) const {
  std::string hex = to_hex(id);
  return opts_.dir + "/" + hex.substr(0, 2) + "/" + hex;
}

uint64_t BlockCache::size_bytes() {
  std::lock_guard lock(mu_);
  Query q(db_, "SELECT bytes FROM total");
  return q.step() == SQLITE_ROW ? static_cast<uint64_t>(sqlite3_column_int64(q.st, 0)) : 0;
}

// Records a use (and, for a block the index does not know yet, its size).
Result<void> BlockCache::touch(const Hash& id, uint64_t size) {
  int64_t now = now_ms();
  std::lock_guard lock(mu_);
  std::string key = to_hex(id);
  auto it = recorded_.find(key);
  if (it != recorded_.end() && now - it->second < opts_.use_record_interval.count()) return {};
  recorded_[key] = now;
  TRY(exec(db_, "BEGIN IMMEDIATE"));
  Query upd(db_, "UPDATE block SET used = ? WHERE id = ?");
  upd.i64(1, now).blob(2, id);
  if (upd.step() != SQLITE_DONE) {
    (void)exec(db_, "ROLLBACK");
    return fail(Errc::io, std::string("block cache index: ") + sqlite3_errmsg(sq(db_)));
  }
  if (sqlite3_changes(sq(db_)) == 0) {
    Query ins(db_, "INSERT INTO block (id, size, used) VALUES (?, ?, ?)");
    ins.blob(1, id).i64(2, static_cast<int64_t>(size)).i64(3, now);
    Query tot(db_, "UPDATE total SET bytes = bytes + ?");
    tot.i64(1, static_cast<int64_t>(size));
    if (ins.step() != SQLITE_DONE || tot.step() != SQLITE_DONE) {
      (void)exec(db_, "ROLLBACK");
      return fail(Errc::io, std::string("block cache index: ") + sqlite3_errmsg(sq(db_)));
    }
  }
  return exec(db_, "COMMIT");
}

Result<std::optional<UniqueFd>> BlockCache::open_block(const Hash& id) {
  UniqueFd fd(::open(block_path(id).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return std::optional<UniqueFd>{};
    return fail_errno("open " + block_path(id));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return fail_errno("stat " + block_path(id));
  TRY(touch(id, static_cast<uint64_t>(st.st_size)));
  return std::optional<UniqueFd>(std::move(fd));
}

Result<std::optional<Bytes>> BlockCache::get(const Hash& id) {
  auto fd = TRY(open_block(id));
  if (!fd) return std::optional<Bytes>{};
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return fail_errno("stat " + block_path(id));
  Bytes data(static_cast<size_t>(st.st_size));
  size_t n = TRY(read_full(fd->get(), data));
  data.resize(n);
  return std::optional<Bytes>(std::move(data));
}

Result<void> BlockCache::insert(const Hash& id, std::span<const uint8_t> plain) {
  std::string path = block_path(id);
  std::string dir = path.substr(0, path.rfind('/'));
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("mkdir " + dir);
  TRY_CTX(write_file_atomic(path, plain, 0600, /*durable=*/false), "caching block " + to_hex(id));
  TRY(touch(id, plain.size()));
  return evict();
}

Result<void> BlockCache::evict() {
  std::lock_guard lock(mu_);
  Query total(db_, "SELECT bytes FROM total");
  if (total.step() != SQLITE_ROW || static_cast<uint64_t>(sqlite3_column_int64(total.st, 0)) <= opts_.max_bytes) return {};
  // Evict down to 90% of the bound, so that eviction runs now and then rather than on every insert.
  const int64_t target = static_cast<int64_t>(opts_.max_bytes / 10 * 9);
  TRY(exec(db_, "BEGIN IMMEDIATE"));
  Query again(db_, "SELECT bytes FROM total");
  int64_t bytes = again.step() == SQLITE_ROW ? sqlite3_column_int64(again.st, 0) : 0;
  std::vector<std::pair<Hash, int64_t>> victims;
  {
    Query oldest(db_, "SELECT id, size FROM block ORDER BY used, rowid");
    while (bytes > target && oldest.step() == SQLITE_ROW) {
      const void* p = sqlite3_column_blob(oldest.st, 0);
      if (sqlite3_column_bytes(oldest.st, 0) != 32) continue;
      Hash h;
      std::memcpy(h.data(), p, 32);
      int64_t size = sqlite3_column_int64(oldest.st, 1);
      victims.emplace_back(h, size);
      bytes -= size;
    }
  }
  int64_t freed = 0;
  for (const auto& [h, size] : victims) {
    Query del(db_, "DELETE FROM block WHERE id = ?");
    del.blob(1, h);
    del.step();
    ::unlink(block_path(h).c_str());
    recorded_.erase(to_hex(h));
    freed += size;
  }
  Query tot(db_, "UPDATE total SET bytes = bytes - ?");
  tot.i64(1, freed);
  tot.step();
  return exec(db_, "COMMIT");
}

}  // namespace tiffin
