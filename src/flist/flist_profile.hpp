// Prefetch profiles: the blocks a workload reads, in the order it first reads them, as a text
// file ("# tiffin prefetch profile v1", then one hex id per line; fuse/block_profile.hpp records
// and loads them) or embedded in the flist itself, in the extension table tiffin_profile
// (seq INTEGER PRIMARY KEY, id BLOB NOT NULL; schema.hpp), which rfs ignores. An embedded
// profile is advisory: it is not part of the signed digest (signature.hpp), so embedding,
// replacing or removing one keeps signatures valid, and it travels with the file (push, pull,
// the hub). Tree::profile holds it in memory: load_flist reads it and save_flist writes it, so a
// re-saved flist keeps its profile; a merge starts without one (a new tree has none).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/hash.hpp"

namespace tiffin {

// The most ids a profile holds, embedded or in a file; more is refused (reading) or cut
// (writing keeps the first ones: the start of a workload matters most).
inline constexpr size_t kMaxProfileIds = 1'000'000;
// The most ids a hub takes in one report of what a run read (a mount's --share-profile sends
// the first ones).
inline constexpr size_t kMaxProfileReportIds = 20'000;

// The v1 text form of `ids`.
std::string profile_text(std::span<const Hash> ids);
// Parses the v1 text form; `what` names the source in errors (Errc::invalid_input).
Result<std::vector<Hash>> parse_profile_text(std::string_view text, const std::string& what);
// Whether `text` starts like a v1 profile.
bool looks_like_profile_text(std::string_view text);

// `ids` without repeats (first occurrence kept), cut to `max` ids.
std::vector<Hash> dedupe_profile(std::span<const Hash> ids, size_t max = kMaxProfileIds);

// The profile embedded in the flist at `path`, in order; empty when it has none. Reads only that
// table (not the tree): rows that are not 32-byte ids, or more than kMaxProfileIds of them, are
// Errc::invalid_input, as load_flist says too.
Result<std::vector<Hash>> read_flist_profile(const std::string& path);

// The distinct block ids the flist at `path` names (its block table only; sorted).
Result<std::vector<Hash>> flist_block_ids(const std::string& path);
// Calls `each` for every row of the flist's block table, repeats included, with no tree built
// and nothing held: for a caller that keeps its own set (the hub's GC). Strict where
// flist_block_ids is lenient: a row that is not a 32-byte id is Errc::corrupt.
Result<void> for_each_block_id(const std::string& path, const std::function<void(const Hash&)>& each);

// Replaces the flist's embedded profile with `ids`, in place and in one transaction: repeats
// and ids that are not among the flist's blocks are dropped, at most kMaxProfileIds are kept,
// and an empty result removes the table. Returns how many ids were written. Nothing else in
// the file changes (signatures stay valid).
Result<size_t> write_flist_profile(const std::string& path, std::span<const Hash> ids);

// Embeds the v1 profile file `profile` into the flist at `flist`; how many ids were kept.
Result<size_t> embed_profile_file(const std::string& flist, const std::string& profile);

}  // namespace tiffin
