// Changing an existing .fl in place, as rfs does: one SQLite transaction that touches only the
// rows concerned. Inode numbers, the tree and every other row stay as they were, nothing is
// rewritten, and tiffin's extension tables are added only when an extension is used (a
// signature adds tiffin_signature). Each edit first validates the file (load_flist) under the
// transaction's write lock and changes nothing when any part of it fails.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "flist/signature.hpp"
#include "flist/tree.hpp"

namespace tiffin {

// Sets (adds or replaces) tags.
Result<void> set_tags(const std::string& path, const std::map<std::string, std::string>& tags);
// Removes tags; Errc::not_found (and nothing removed) if one of the keys is not there.
Result<void> remove_tags(const std::string& path, const std::vector<std::string>& keys);
// Adds routes after the existing ones, or in their place with `replace`.
Result<void> add_routes(const std::string& path, const std::vector<Route>& routes, bool replace);
// Removes every route to each URL; Errc::not_found (and nothing removed) if a URL has none.
Result<void> remove_routes(const std::string& path, const std::vector<std::string>& urls);
// Signs the flist with `key` (signature.hpp), replacing that key's earlier signature.
Result<void> add_signature(const std::string& path, const SigningKey& key);

}  // namespace tiffin
