#include "snapshotter/snapshot_store.hpp"

#include <nlohmann/json.hpp>

namespace tiffin::snapshotter {
namespace {

constexpr const char* kColumns = "id, name, parent, kind, created, updated, labels, lazy, remote, remote_top, chain";

std::string labels_text(const Labels& labels) { return nlohmann::json(labels).dump(); }

Labels parse_labels(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  Labels out;
  if (j.is_object())
    for (auto& [k, v] : j.items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

Snapshot row(const sql::Stmt& st) {
  Snapshot s;
  s.id = st.i64(0);
  s.name = st.text(1);
  s.parent = st.text(2);
  s.kind = static_cast<Kind>(st.i64(3));
  s.created_ns = st.i64(4);
  s.updated_ns = st.i64(5);
  s.labels = parse_labels(st.text(6));
  s.lazy = st.i64(7) != 0;
  s.remote = st.text(8);
  s.remote_top = st.i64(9) != 0;
  s.chain = st.text(10);
  return s;
}

}  // namespace

Result<SnapshotStore> SnapshotStore::open(const std::string& path) {
  sql::Db db = TRY(sql::Db::open_readwrite(path, true));
  // WAL: a reader never waits for the writer; NORMAL sync is durable across a process crash,
  // which is what a restart of the snapshotter is. AUTOINCREMENT: ids (directory names) are
  // never reused, so a directory left by a crash cannot be taken for a new snapshot's.
  TRY(db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"));
  TRY(
      db.exec("CREATE TABLE IF NOT EXISTS snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, "
              "parent TEXT NOT NULL, kind INTEGER NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL, labels TEXT NOT NULL, "
              "lazy INTEGER NOT NULL DEFAULT 0, remote TEXT NOT NULL DEFAULT '', remote_top INTEGER NOT NULL DEFAULT 0, "
              "chain TEXT NOT NULL DEFAULT '');"
              "CREATE INDEX IF NOT EXISTS snapshots_parent ON snapshots(parent);"));
  return SnapshotStore(std::move(db));
}

Result<std::vector<Snapshot>> SnapshotStore::query(const std::string& where, const std::string& arg) {
  auto st = TRY(sql::Stmt::prepare(db_, std::string("SELECT ") + kColumns + " FROM snapshots" + where));
  if (!arg.empty() || where.find('?') != std::string::npos) st.bind(1, arg);
  std::vector<Snapshot> out;
  while (TRY(st.step())) out.push_back(row(st));
  return out;
}

Result<std::optional<Snapshot>> SnapshotStore::get(const std::string& name) {
  auto rows = TRY(query(" WHERE name = ?", name));
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

Result<Snapshot> SnapshotStore::insert(Snapshot s) {
  if (TRY(get(s.name))) return fail(Errc::conflict, "snapshot " + s.name + " already exists");
  auto st = TRY(sql::Stmt::prepare(db_,
      "INSERT INTO snapshots (name, parent, kind, created, updated, labels, lazy, remote, remote_top, chain) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  st.bind(1, s.name).bind(2, s.parent).bind(3, static_cast<int64_t>(s.kind)).bind(4, s.created_ns).bind(5, s.updated_ns);
  st.bind(6, labels_text(s.labels)).bind(7, int64_t{s.lazy}).bind(8, s.remote).bind(9, int64_t{s.remote_top}).bind(10, s.chain);
  TRY(st.run());
  s.id = sqlite3_last_insert_rowid(db_.get());
  return s;
}

Result<void> SnapshotStore::update(const Snapshot& s) {
  auto st = TRY(sql::Stmt::prepare(db_, "UPDATE snapshots SET name = ?, kind = ?, created = ?, updated = ?, labels = ? WHERE id = ?"));
  st.bind(1, s.name).bind(2, static_cast<int64_t>(s.kind)).bind(3, s.created_ns).bind(4, s.updated_ns).bind(5, labels_text(s.labels));
  st.bind(6, s.id);
  return st.run();
}

Result<void> SnapshotStore::remove(int64_t id) {
  auto st = TRY(sql::Stmt::prepare(db_, "DELETE FROM snapshots WHERE id = ?"));
  st.bind(1, id);
  return st.run();
}

Result<std::vector<Snapshot>> SnapshotStore::all() { return query(" ORDER BY id", ""); }

Result<bool> SnapshotStore::has_children(const std::string& name) {
  auto st = TRY(sql::Stmt::prepare(db_, "SELECT 1 FROM snapshots WHERE parent = ? LIMIT 1"));
  st.bind(1, name);
  return TRY(st.step());
}

Result<int64_t> SnapshotStore::count_remote(const std::string& remote) {
  auto st = TRY(sql::Stmt::prepare(db_, "SELECT COUNT(*) FROM snapshots WHERE remote = ?"));
  st.bind(1, remote);
  TRY(st.step());
  return st.i64(0);
}

}  // namespace tiffin::snapshotter
