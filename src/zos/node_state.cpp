#include "zos/node_state.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <ctime>

#include "common/hex.hpp"

namespace tiffin::zos {

namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, public_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (signature TEXT PRIMARY KEY, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS workloads (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, workload TEXT NOT NULL,
  challenge TEXT NOT NULL, secret_version INTEGER NOT NULL, container TEXT NOT NULL, result TEXT NOT NULL);
)";

WorkloadRecord read_record(const sql::Stmt& s) {
  return {s.i64(0), s.i64(1), s.text(2), s.text(3), static_cast<int>(s.i64(4)), s.text(5), s.text(6)};
}

}  // namespace

std::string admin_token_hash(const std::string& token) {
  unsigned char h[32];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr, 0);
  return to_hex({h, sizeof h});
}

Result<void> NodeState::set_admin_token_hash(const std::string& hash) {
  if (auto b = from_hex(hash); !b || b->size() != 32) return fail(Errc::invalid_input, "an admin token hash is 64 hex characters");
  return set_setting("admin_token_hash", hash);
}

Result<NodeState> NodeState::open(const std::string& root) {
  std::string dir = root + "/zos";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("making " + dir);
  std::string path = dir + "/node.db";
  mode_t old = ::umask(077);
  auto db = sql::Db::open_readwrite(path, true);
  ::umask(old);
  if (!db) return std::unexpected(db.error());
  TRY(db->exec("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;"));
  TRY(db->exec(kSchema));
  return NodeState(std::move(*db));
}

Result<void> NodeState::add_user(const NodeUser& u) {
  auto st = TRY(sql::Stmt::prepare(db_, "INSERT OR REPLACE INTO users (id, public_key) VALUES (?, ?)"));
  return st.bind(1, u.id).bind(2, u.public_key).run();
}

Result<void> NodeState::remove_user(int64_t id) {
  if (!TRY(user_key(id))) return fail(Errc::not_found, "no user " + std::to_string(id) + " on this node");
  auto st = TRY(sql::Stmt::prepare(db_, "DELETE FROM users WHERE id = ?"));
  return st.bind(1, id).run();
}

Result<std::vector<NodeUser>> NodeState::users() {
  auto st = TRY(sql::Stmt::prepare(db_, "SELECT id, public_key FROM users ORDER BY id"));
  std::vector<NodeUser> out;
  while (TRY(st.step())) out.push_back({st.i64(0), st.text(1)});
  return out;
}

Result<std::optional<std::string>> NodeState::user_key(int64_t id) {
  auto st = TRY(sql::Stmt::prepare(db_, "SELECT public_key FROM users WHERE id = ?"));
  st.bind(1, id);
  if (!TRY(st.step())) return std::optional<std::string>();
  return std::optional<std::string>(st.text(0));
}

Result<std::string> NodeState::rotate_admin_token() {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string token = to_hex({raw, sizeof raw});
  sodium_memzero(raw, sizeof raw);
  TRY(set_setting("admin_token_hash", admin_token_hash(token)));
  return token;
}

Result<bool> NodeState::admin_token_matches(const std::string& token) {
  std::string want = TRY(setting("admin_token_hash"));
  if (want.empty() || token.empty()) return false;
  std::string got = admin_token_hash(token);
  return want.size() == got.size() && sodium_memcmp(want.data(), got.data(), want.size()) == 0;
}

Result<void> NodeState::remember_signature(const std::string& signature, int64_t expires) {
  auto purge = TRY(sql::Stmt::prepare(db_, "DELETE FROM seen WHERE expires < ?"));
  TRY(purge.bind(1, static_cast<int64_t>(std::time(nullptr))).run());
  auto st = TRY(sql::Stmt::prepare(db_, "INSERT OR IGNORE INTO seen (signature, expires) VALUES (?, ?)"));
  TRY(st.bind(1, signature).bind(2, expires).run());
  if (sqlite3_changes(db_.get()) == 0) return fail(Errc::conflict, "this request was made before (a replay): sign a new one");
  return {};
}

Result<void> NodeState::put_workload(const WorkloadRecord& w) {
  auto st = TRY(sql::Stmt::prepare(db_,
      "INSERT OR REPLACE INTO workloads (id, user_id, workload, challenge, secret_version, container, result) VALUES (?, ?, ?, ?, ?, ?, "
      "?)"));
  return st.bind(1, w.id)
      .bind(2, w.user_id)
      .bind(3, w.workload)
      .bind(4, w.challenge)
      .bind(5, int64_t{w.secret_version})
      .bind(6, w.container)
      .bind(7, w.result)
      .run();
}

Result<std::optional<WorkloadRecord>> NodeState::workload(int64_t id) {
  auto st = TRY(
      sql::Stmt::prepare(db_, "SELECT id, user_id, workload, challenge, secret_version, container, result FROM workloads WHERE id = ?"));
  st.bind(1, id);
  if (!TRY(st.step())) return std::optional<WorkloadRecord>();
  return std::optional<WorkloadRecord>(read_record(st));
}

Result<std::vector<WorkloadRecord>> NodeState::workloads() {
  auto st =
      TRY(sql::Stmt::prepare(db_, "SELECT id, user_id, workload, challenge, secret_version, container, result FROM workloads ORDER BY id"));
  std::vector<WorkloadRecord> out;
  while (TRY(st.step())) out.push_back(read_record(st));
  return out;
}

Result<void> NodeState::remove_workload(int64_t id) {
  auto st = TRY(sql::Stmt::prepare(db_, "DELETE FROM workloads WHERE id = ?"));
  return st.bind(1, id).run();
}

Result<std::string> NodeState::setting(const std::string& key) {
  auto st = TRY(sql::Stmt::prepare(db_, "SELECT value FROM settings WHERE key = ?"));
  st.bind(1, key);
  if (!TRY(st.step())) return std::string();
  return st.text(0);
}

Result<void> NodeState::set_setting(const std::string& key, const std::string& value) {
  auto st = TRY(sql::Stmt::prepare(db_, "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)"));
  return st.bind(1, key).bind(2, value).run();
}

}  // namespace tiffin::zos
