// Thin RAII over the SQLite C API: a connection and prepared statements whose errors come
// back as Result with the database's message and the statement in context.
#pragma once

#include <sqlite3.h>

#include <optional>
#include <span>
#include <string>

#include "common/error.hpp"

namespace tiffin::sql {

class Db {
 public:
  Db() = default;
  Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)) {}
  Db& operator=(Db&& o) noexcept {
    std::swap(db_, o.db_);
    std::swap(path_, o.path_);
    return *this;
  }
  ~Db();

  static Result<Db> open_readonly(const std::string& path);
  static Result<Db> open_readwrite(const std::string& path, bool create);

  Result<void> exec(const std::string& sql);
  bool has_table(const std::string& name);
  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }
  Error error(const std::string& what) const;

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  static Result<Db> open_with(const std::string& path, int flags);
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Stmt {
 public:
  Stmt() = default;
  Stmt(Stmt&& o) noexcept : st_(std::exchange(o.st_, nullptr)), db_(o.db_) {}
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(st_, o.st_);
    db_ = o.db_;
    return *this;
  }
  ~Stmt();
  static Result<Stmt> prepare(const Db& db, const std::string& sql);

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, const std::string& v);
  Stmt& bind_blob(int i, std::span<const uint8_t> v);
  Stmt& bind_null(int i);
  // true: a row is ready; false: done. On an error the statement is reset, ready for reuse.
  Result<bool> step();
  Result<void> run();  // step to completion, then reset
  void reset();

  int type(int col) const { return sqlite3_column_type(st_, col); }
  int64_t i64(int col) const { return sqlite3_column_int64(st_, col); }
  std::string text(int col) const;
  std::span<const uint8_t> blob(int col) const;

 private:
  sqlite3_stmt* st_ = nullptr;
  const Db* db_ = nullptr;
};

}  // namespace tiffin::sql
