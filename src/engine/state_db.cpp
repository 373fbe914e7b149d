#include "engine/state_db.hpp"

#include <array>

namespace tiffin::engine {
namespace {

// migrations[i] takes the schema from version i to i + 1. Never edit one that has shipped: add.
constexpr std::array<const char*, kStateSchemaVersion> kMigrations = {
    // 0 → 1: the first schema (a database made before versions existed has exactly these tables).
    R"(
CREATE TABLE IF NOT EXISTS images (id TEXT PRIMARY KEY, source TEXT NOT NULL, created INTEGER NOT NULL,
  size INTEGER NOT NULL, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tags (name TEXT PRIMARY KEY, image TEXT NOT NULL REFERENCES images(id));
CREATE TABLE IF NOT EXISTS containers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, image TEXT NOT NULL,
  image_id TEXT NOT NULL, config TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS volumes (name TEXT PRIMARY KEY, size_mib INTEGER NOT NULL, created INTEGER NOT NULL);
)",
    // 1 → 2: networks, their leases (endpoints) and published ports (engine/network_store.hpp).
    // Leases name containers without a foreign key: a container's record may go first (its
    // shim removed it), and the next allocation reclaims what it held.
    R"(
CREATE TABLE networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, driver TEXT NOT NULL, bridge TEXT NOT NULL UNIQUE,
  subnet TEXT NOT NULL, gateway TEXT NOT NULL, ip_range TEXT NOT NULL, subnet6 TEXT NOT NULL, gateway6 TEXT NOT NULL,
  internal INTEGER NOT NULL, labels TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE endpoints (container TEXT NOT NULL, network TEXT NOT NULL REFERENCES networks(id), ifname TEXT NOT NULL,
  host_ifname TEXT NOT NULL UNIQUE, ip TEXT NOT NULL, ip6 TEXT NOT NULL, mac TEXT NOT NULL, aliases TEXT NOT NULL,
  PRIMARY KEY (container, network));
CREATE UNIQUE INDEX endpoints_ip ON endpoints (network, ip);
CREATE TABLE ports (container TEXT NOT NULL, proto TEXT NOT NULL, host_ip TEXT NOT NULL, host_port INTEGER NOT NULL,
  ctr_port INTEGER NOT NULL, PRIMARY KEY (proto, host_ip, host_port));
CREATE INDEX ports_container ON ports (container);
)",
    // 2 → 3: which repositories of which registries have a blob this node pushed, so a push to
    // another repository there mounts it instead of uploading it again.
    R"(
CREATE TABLE blob_locations (registry TEXT NOT NULL, repository TEXT NOT NULL, digest TEXT NOT NULL,
  PRIMARY KEY (registry, digest, repository));
)",
    // 3 → 4: Zero-OS network resources (engine/zos_network_store.hpp): what a network of driver
    // zos has beyond a bridge network's. Its private key is a file of its own (0600), not here.
    R"(
CREATE TABLE zos_networks (network TEXT PRIMARY KEY REFERENCES networks(id) ON DELETE CASCADE, net_id TEXT NOT NULL UNIQUE,
  ip_range TEXT NOT NULL, listen_port INTEGER NOT NULL, public_key TEXT NOT NULL, peers TEXT NOT NULL,
  ndmz_ip TEXT NOT NULL UNIQUE);
)",
};

Result<int> schema_version(sql::Db& db) {
  auto st = TRY(sql::Stmt::prepare(db, "PRAGMA user_version"));
  if (!TRY(st.step())) return 0;
  return static_cast<int>(st.i64(0));
}

}  // namespace

Result<sql::Db> open_state_db(const std::string& path) {
  sql::Db db = TRY(sql::Db::open_readwrite(path, true));
  sqlite3_busy_timeout(db.get(), 10000);
  // The last connection to close would checkpoint (two fsyncs) on every CLI run; WAL's own
  // automatic checkpoints are enough.
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  TRY(db.exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  int version = TRY(schema_version(db));
  if (version == kStateSchemaVersion) return db;
  if (version > kStateSchemaVersion)
    return fail(Errc::unsupported,
        path + " has schema version " + std::to_string(version) + ", newer than this tiffin's " + std::to_string(kStateSchemaVersion));
  TRY(db.exec("PRAGMA journal_mode=WAL"));
  TRY(db.exec("BEGIN IMMEDIATE"));
  auto migrate = [&]() -> Result<void> {
    // Another process may have migrated while we waited for the lock.
    for (int v = TRY(schema_version(db)); v < kStateSchemaVersion; ++v) {
      TRY_CTX(db.exec(kMigrations[static_cast<size_t>(v)]), "migrating " + path + " to version " + std::to_string(v + 1));
      TRY(db.exec("PRAGMA user_version = " + std::to_string(v + 1)));
    }
    return db.exec("COMMIT");
  }();
  if (!migrate) {
    (void)db.exec("ROLLBACK");
    return std::unexpected(migrate.error());
  }
  return db;
}

}  // namespace tiffin::engine
