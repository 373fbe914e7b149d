#include "build/build_cache.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <thread>

#include "flist/flist_file.hpp"

namespace tiffin::build {
namespace {

int64_t now() { return static_cast<int64_t>(::time(nullptr)); }

uint64_t file_size(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// A write of its own transaction taken with the write lock first (BEGIN IMMEDIATE): an
// autocommit write reads first and then upgrades, and when another connection commits in
// between, SQLite fails it at once (SQLITE_BUSY_SNAPSHOT) instead of waiting.
Result<void> write(sql::Db& db, const std::function<Result<void>()>& body) {
  TRY(db.exec("BEGIN IMMEDIATE"));
  auto r = body();
  if (r) r = db.exec("COMMIT");
  if (!r) (void)db.exec("ROLLBACK");
  return r;
}

}  // namespace

uint64_t tree_content_bytes(const Tree& t) {
  uint64_t total = 0;
  for (size_t i : t.preorder())
    if (t.nodes[i].is_reg() && !t.nodes[i].hardlink) total += t.nodes[i].size;
  return total;
}

Result<BuildCache> BuildCache::open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(Errc::io, "making " + dir + ": " + ec.message());
  auto db = TRY(sql::Db::open_readwrite(dir + "/cache.db", true));
  sqlite3_busy_timeout(db.get(), 10000);
  // The first opener of a new file switches it to WAL; another opening at that moment can get
  // SQLITE_BUSY from the switch itself, which the busy timeout does not cover: try again.
  for (int tries = 0;; ++tries) {
    auto wal = db.exec("PRAGMA journal_mode=WAL");
    if (wal) break;
    if (sqlite3_errcode(db.get()) != SQLITE_BUSY || tries == 500) return std::unexpected(wal.error());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  TRY(write(db, [&] {
    return db.exec(
        "CREATE TABLE IF NOT EXISTS layers (key TEXT PRIMARY KEY, content_bytes INTEGER NOT NULL, file_bytes INTEGER NOT NULL, "
        "created INTEGER NOT NULL, used INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS images (key TEXT PRIMARY KEY, image TEXT NOT NULL)");
  }));
  return BuildCache(dir, std::move(db));
}

Result<std::optional<Tree>> BuildCache::get(const Hash& key) {
  std::string hex = to_hex(key);
  auto q = TRY(sql::Stmt::prepare(db_, "SELECT 1 FROM layers WHERE key = ?"));
  q.bind(1, hex);
  bool found = TRY(q.step());
  // Ends the read before this connection writes: a read left open while another build's write
  // commits makes the write fail at once (SQLITE_BUSY_SNAPSHOT, which no busy timeout retries).
  q.reset();
  if (!found) return std::optional<Tree>();
  auto layer = load_flist(path_of(hex));
  if (!layer) {  // lost or damaged: a miss, and the entry goes
    TRY(forget(hex));
    return std::optional<Tree>();
  }
  TRY(write(db_, [&]() -> Result<void> {
    auto touch = TRY(sql::Stmt::prepare(db_, "UPDATE layers SET used = ? WHERE key = ?"));
    return touch.bind(1, now()).bind(2, hex).run();
  }));
  return std::optional<Tree>(std::move(*layer));
}

Result<void> BuildCache::put(const Hash& key, const Tree& layer) {
  std::string hex = to_hex(key), path = path_of(hex);
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  auto saved = save_flist(tmp, layer);
  if (saved && ::rename(tmp.c_str(), path.c_str()) != 0) saved = fail_errno("storing " + path);
  if (!saved) {
    ::unlink(tmp.c_str());
    return saved;
  }
  auto ins =
      TRY(sql::Stmt::prepare(db_, "INSERT OR REPLACE INTO layers (key, content_bytes, file_bytes, created, used) VALUES (?, ?, ?, ?, ?)"));
  return ins.bind(1, hex)
      .bind(2, static_cast<int64_t>(tree_content_bytes(layer)))
      .bind(3, static_cast<int64_t>(file_size(path)))
      .bind(4, now())
      .bind(5, now())
      .run();
}

Result<std::optional<std::string>> BuildCache::image_for(const Hash& final_key) {
  auto q = TRY(sql::Stmt::prepare(db_, "SELECT image FROM images WHERE key = ?"));
  q.bind(1, to_hex(final_key));
  if (!TRY(q.step())) return std::optional<std::string>();
  return std::optional<std::string>(q.text(0));
}

Result<void> BuildCache::put_image(const Hash& final_key, const std::string& image_id) {
  return write(db_, [&]() -> Result<void> {
    auto ins = TRY(sql::Stmt::prepare(db_, "INSERT OR REPLACE INTO images (key, image) VALUES (?, ?)"));
    return ins.bind(1, to_hex(final_key)).bind(2, image_id).run();
  });
}

Result<CacheUsage> BuildCache::usage() {
  auto q = TRY(sql::Stmt::prepare(db_, "SELECT COUNT(*), COALESCE(SUM(content_bytes), 0), COALESCE(SUM(file_bytes), 0) FROM layers"));
  TRY(q.step());
  return CacheUsage{static_cast<size_t>(q.i64(0)), static_cast<uint64_t>(q.i64(1)), static_cast<uint64_t>(q.i64(2))};
}

Result<void> BuildCache::forget(const std::string& key_hex) {
  ::unlink(path_of(key_hex).c_str());
  return write(db_, [&]() -> Result<void> {
    auto del = TRY(sql::Stmt::prepare(db_, "DELETE FROM layers WHERE key = ?"));
    return del.bind(1, key_hex).run();
  });
}

Result<CacheUsage> BuildCache::prune(const PruneOptions& o) {
  CacheUsage left = TRY(usage()), removed;
  auto q = TRY(sql::Stmt::prepare(db_, "SELECT key, content_bytes, file_bytes, used FROM layers ORDER BY used, created"));
  std::vector<std::tuple<std::string, uint64_t, uint64_t, int64_t>> rows;
  while (TRY(q.step())) rows.emplace_back(q.text(0), q.i64(1), q.i64(2), q.i64(3));
  int64_t cutoff = now() - o.unused_for_seconds;
  for (const auto& [key, content, file, used] : rows) {
    if (o.unused_for_seconds > 0 && used > cutoff) continue;
    if (o.keep_bytes > 0 && left.content_bytes <= o.keep_bytes) break;
    TRY(forget(key));
    ++removed.entries;
    removed.keys.push_back(key);
    removed.content_bytes += content;
    removed.file_bytes += file;
    left.content_bytes -= std::min(left.content_bytes, content);
  }
  // The whole-build shortcuts go with any prune: a build after it decides step by step again.
  TRY(write(db_, [&] { return db_.exec("DELETE FROM images"); }));
  return removed;
}

}  // namespace tiffin::build
