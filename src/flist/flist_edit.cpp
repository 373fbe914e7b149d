#include "flist/flist_edit.hpp"

#include <functional>

#include "common/sqlite.hpp"
#include "common/text.hpp"
#include "flist/flist_file.hpp"
#include "flist/schema.hpp"

namespace tiffin {
namespace {

// Runs `change` in one write transaction on `path`, after validating the file under the lock
// (BEGIN IMMEDIATE: no other writer can slip in between the validation and the change). SQLite's
// rollback journal makes the change atomic and durable; on any error it is rolled back.
Result<void> in_place(const std::string& path, const std::function<Result<void>(sql::Db&, const Tree&)>& change) {
  auto edit = [&]() -> Result<void> {
    sql::Db db = TRY(sql::Db::open_readwrite(path, false));
    TRY(schema::require_rfs_tables(db, path));
    TRY(db.exec("BEGIN IMMEDIATE"));
    auto r = [&]() -> Result<void> {
      Tree tree = TRY(load_flist(path));
      TRY(change(db, tree));
      return db.exec("COMMIT");
    }();
    if (!r) (void)db.exec("ROLLBACK");
    return r;
  };
  auto r = edit();
  if (!r && r.error().kind == Errc::corrupt) r.error().kind = Errc::invalid_input;  // a malformed database
  return r;
}

// Runs `sql` with `value` bound once per value; Errc::not_found naming the first that matched no row.
Result<void> delete_each(sql::Db& db, const std::string& sql, const std::vector<std::string>& values, const std::string& what) {
  auto del = TRY(sql::Stmt::prepare(db, sql));
  for (const auto& v : values) {
    TRY(del.bind(1, v).run());
    if (sqlite3_changes(db.get()) == 0) return fail(Errc::not_found, "no " + what + " '" + printable(v) + "'");
  }
  return {};
}

}  // namespace

Result<void> set_tags(const std::string& path, const std::map<std::string, std::string>& tags) {
  return in_place(path, [&](sql::Db& db, const Tree&) -> Result<void> {
    // rfs's own statement for a tag.
    auto put = TRY(sql::Stmt::prepare(db, "INSERT OR REPLACE INTO tag (key, value) VALUES (?, ?)"));
    for (const auto& [k, v] : tags) TRY(put.bind(1, k).bind(2, v).run());
    return {};
  });
}

Result<void> remove_tags(const std::string& path, const std::vector<std::string>& keys) {
  return in_place(path, [&](sql::Db& db, const Tree&) { return delete_each(db, "DELETE FROM tag WHERE key = ?", keys, "tag"); });
}

Result<void> add_routes(const std::string& path, const std::vector<Route>& routes, bool replace) {
  return in_place(path, [&](sql::Db& db, const Tree&) -> Result<void> {
    if (replace) TRY(db.exec("DELETE FROM route"));
    auto put = TRY(sql::Stmt::prepare(db, "INSERT INTO route (start, end, url) VALUES (?, ?, ?)"));
    for (const auto& r : routes) TRY(put.bind(1, r.start).bind(2, r.end).bind(3, r.url).run());
    return {};
  });
}

Result<void> remove_routes(const std::string& path, const std::vector<std::string>& urls) {
  return in_place(path, [&](sql::Db& db, const Tree&) { return delete_each(db, "DELETE FROM route WHERE url = ?", urls, "route to"); });
}

Result<void> add_signature(const std::string& path, const SigningKey& key) {
  return in_place(path, [&](sql::Db& db, const Tree& tree) -> Result<void> {
    Signature s = signature_for(tree, key);
    TRY(db.exec(schema::kSignature));
    auto put = TRY(sql::Stmt::prepare(db, schema::kInsertSignature));
    return put.bind_blob(1, s.public_key).bind_blob(2, s.signature).run();
  });
}

}  // namespace tiffin
