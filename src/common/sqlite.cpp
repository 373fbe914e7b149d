#include "common/sqlite.hpp"

namespace tiffin::sql {

Db::~Db() {
  if (db_) sqlite3_close_v2(db_);
}

Error Db::error(const std::string& what) const { return Error{Errc::io, 0, what + ": " + (db_ ? sqlite3_errmsg(db_) : "no database")}; }

Result<Db> Db::open_with(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    if (raw) sqlite3_close_v2(raw);
    return fail(rc == SQLITE_CANTOPEN ? Errc::not_found : Errc::io, "open " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(raw, 1);
  // Hostile files must not make SQLite allocate without bound.
  sqlite3_limit(raw, SQLITE_LIMIT_LENGTH, 64 * 1024 * 1024);
  return Db(raw, path);
}

Result<Db> Db::open_readonly(const std::string& path) {
  Db db = TRY(open_with(path, SQLITE_OPEN_READONLY));
  // Fail here, with a clear message, on a file that is not a database at all.
  auto r = db.exec("SELECT count(*) FROM sqlite_master");
  if (!r) return fail(Errc::invalid_input, path + " is not an flist (not an SQLite database)");
  return db;
}

Result<Db> Db::open_readwrite(const std::string& path, bool create) {
  return open_with(path, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0));
}

Result<void> Db::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return fail(Errc::io, path_ + ": " + msg);
  }
  return {};
}

bool Db::has_table(const std::string& name) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", -1, &st, nullptr) != SQLITE_OK) return false;
  sqlite3_bind_text(st, 1, name.c_str(), -1, SQLITE_TRANSIENT);
  bool found = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  return found;
}

Stmt::~Stmt() {
  if (st_) sqlite3_finalize(st_);
}

Result<Stmt> Stmt::prepare(const Db& db, const std::string& sql) {
  Stmt s;
  if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &s.st_, nullptr) != SQLITE_OK)
    return fail(Errc::invalid_input, db.path() + ": " + sqlite3_errmsg(db.get()) + " (in: " + sql + ")");
  s.db_ = &db;
  return s;
}

Stmt& Stmt::bind(int i, int64_t v) {
  sqlite3_bind_int64(st_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, const std::string& v) {
  sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_blob(int i, std::span<const uint8_t> v) {
  sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(st_, i);
  return *this;
}

Result<bool> Stmt::step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = db_->error(db_->path());  // "x.fl: database disk image is malformed"
  if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) e.kind = Errc::corrupt;
  // A statement that failed must be reset before it can be bound and run again; statements
  // prepared once and reused (the block cache, the flist index) depend on it.
  reset();
  return std::unexpected(std::move(e));
}

Result<void> Stmt::run() {
  while (TRY(step())) {
  }
  reset();
  return {};
}

void Stmt::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

std::string Stmt::text(int col) const {
  auto* p = sqlite3_column_text(st_, col);
  int n = sqlite3_column_bytes(st_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

std::span<const uint8_t> Stmt::blob(int col) const {
  auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(st_, col));
  int n = sqlite3_column_bytes(st_, col);
  return p ? std::span<const uint8_t>(p, static_cast<size_t>(n)) : std::span<const uint8_t>();
}

}  // namespace tiffin::sql
