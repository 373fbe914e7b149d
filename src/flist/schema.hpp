// The .fl schema: rfs's tables with rfs's SQL text (docs/DESIGN.md §3.1), and tiffin's extension
// tables, which rfs ignores and which a file holds only when it uses the extension. Shared by the
// reader, the writer and the in-place edits, so all three agree on what an flist is.
#pragma once

#include <string>

#include "common/sqlite.hpp"

namespace tiffin::schema {

// rfs's schema.sql, verbatim: inode, extra, block, tag, route and their indexes.
extern const char* const kRfs;
// tiffin's extensions, one statement list each (CREATE … IF NOT EXISTS: safe to run again).
extern const char* const kXattr;      // tiffin_xattr (ino, name, value) + index on ino
extern const char* const kHardlink;   // tiffin_hardlink (ino, target)
extern const char* const kConfig;     // tiffin_config (key, value)
extern const char* const kSignature;  // tiffin_signature (public_key, signature)
// tiffin_profile (seq INTEGER PRIMARY KEY, id BLOB NOT NULL): an embedded prefetch profile, block
// ids in first-read order by seq (flist_profile.hpp). Advisory and unsigned; rfs ignores it.
extern const char* const kProfile;
extern const char* const kProfileTable;   // "tiffin_profile"
extern const char* const kInsertProfile;  // (seq, id)
// Adds or replaces the signature of a key: (public_key, signature).
extern const char* const kInsertSignature;

// Errc::invalid_input naming `path` unless `db` has all of rfs's tables.
Result<void> require_rfs_tables(sql::Db& db, const std::string& path);

}  // namespace tiffin::schema
