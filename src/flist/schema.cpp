#include "flist/schema.hpp"

namespace tiffin::schema {

const char* const kRfs = R"(CREATE TABLE inode (
    ino INTEGER PRIMARY KEY AUTOINCREMENT,
    parent INTEGER,
    name VARCHAR(255),
    size INTEGER,
    uid INTEGER,
    gid INTEGER,
    mode INTEGER,
    rdev INTEGER,
    ctime INTEGER,
    mtime INTEGER
);
CREATE INDEX parents ON inode (parent);
CREATE INDEX names ON inode (name);
CREATE TABLE extra (
    ino INTEGER PRIMARY KEY,
    data VARCHAR(4096)
);
CREATE TABLE block (
    ino INTEGER,
    id VARCHAR(32),
    key VARCHAR(32)
);
CREATE INDEX block_ino ON block (ino);
CREATE TABLE tag (
    key VARCHAR(10) PRIMARY KEY,
    value VARCHAR(255)
);
CREATE TABLE route (
    start integer, -- one byte hash prefix
    end integer, -- one byte hash prefix
    url VARCHAR(2048)
);
)";

const char* const kXattr =
    "CREATE TABLE IF NOT EXISTS tiffin_xattr (ino INTEGER, name TEXT, value BLOB);\n"
    "CREATE INDEX IF NOT EXISTS tiffin_xattr_ino ON tiffin_xattr (ino);\n";
const char* const kHardlink = "CREATE TABLE IF NOT EXISTS tiffin_hardlink (ino INTEGER PRIMARY KEY, target INTEGER);\n";
const char* const kConfig = "CREATE TABLE IF NOT EXISTS tiffin_config (key TEXT PRIMARY KEY, value TEXT);\n";
const char* const kSignature = "CREATE TABLE IF NOT EXISTS tiffin_signature (public_key BLOB PRIMARY KEY, signature BLOB);\n";
const char* const kProfile = "CREATE TABLE IF NOT EXISTS tiffin_profile (seq INTEGER PRIMARY KEY, id BLOB NOT NULL);\n";
const char* const kProfileTable = "tiffin_profile";
const char* const kInsertProfile = "INSERT INTO tiffin_profile (seq, id) VALUES (?, ?)";
const char* const kInsertSignature = "INSERT OR REPLACE INTO tiffin_signature (public_key, signature) VALUES (?, ?)";

Result<void> require_rfs_tables(sql::Db& db, const std::string& path) {
  for (const char* t : {"inode", "extra", "block", "tag", "route"})
    if (!db.has_table(t)) return fail(Errc::invalid_input, path + " is not an flist: table '" + std::string(t) + "' is missing");
  return {};
}

}  // namespace tiffin::schema
