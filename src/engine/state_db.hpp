// The node's state database (<root>/tiffin.db): images, tags, containers, volumes. Its schema
// has a version (PRAGMA user_version) and the migrations that lead to it are applied, in one
// transaction, by whichever process opens the database first; a database from a newer tiffin is
// refused instead of being misread.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/sqlite.hpp"

namespace tiffin::engine {

inline constexpr int kStateSchemaVersion = 4;

// Opens (creating) the database, in WAL mode with a busy timeout, migrated to the current
// schema. Errc::unsupported for a database newer than this build.
Result<sql::Db> open_state_db(const std::string& path);

}  // namespace tiffin::engine
