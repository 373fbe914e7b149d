#include "flist/flist_profile.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <unordered_set>

#include "common/fd.hpp"
#include "common/sqlite.hpp"
#include "flist/schema.hpp"

namespace tiffin {
namespace {

constexpr std::string_view kProfileHeader = "# tiffin prefetch profile v1";

struct IdHash {
  size_t operator()(const Hash& h) const {
    size_t v;
    std::memcpy(&v, h.data(), sizeof v);
    return v;
  }
};

Result<std::vector<Hash>> read_profile_table(sql::Db& db, const std::string& path) {
  std::vector<Hash> ids;
  if (!db.has_table(schema::kProfileTable)) return ids;
  auto rows = TRY(sql::Stmt::prepare(db, "SELECT id FROM tiffin_profile ORDER BY seq"));
  while (TRY(rows.step())) {
    auto b = rows.blob(0);
    if (rows.type(0) != SQLITE_BLOB || b.size() != 32)
      return fail(Errc::invalid_input, path + ": tiffin_profile holds an id that is not a 32-byte blob");
    if (ids.size() == kMaxProfileIds)
      return fail(Errc::invalid_input, path + ": tiffin_profile holds more than " + std::to_string(kMaxProfileIds) + " ids");
    Hash h;
    std::copy(b.begin(), b.end(), h.begin());
    ids.push_back(h);
  }
  return ids;
}

}  // namespace

std::string profile_text(std::span<const Hash> ids) {
  std::string text(kProfileHeader);
  text += '\n';
  text.reserve(text.size() + ids.size() * 65);
  for (const Hash& id : ids) text += to_hex(id) + '\n';
  return text;
}

bool looks_like_profile_text(std::string_view text) { return text.starts_with(kProfileHeader); }

Result<std::vector<Hash>> parse_profile_text(std::string_view text, const std::string& what) {
  if (!looks_like_profile_text(text)) return fail(Errc::invalid_input, what + " is not a tiffin prefetch profile");
  std::vector<Hash> ids;
  size_t line_no = 1;
  for (size_t pos = text.find('\n'); pos != std::string_view::npos && pos + 1 < text.size();) {
    size_t end = text.find('\n', pos + 1);
    std::string_view line = text.substr(pos + 1, end == std::string_view::npos ? std::string_view::npos : end - pos - 1);
    ++line_no;
    pos = end;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    auto id = hash_from_hex(line);
    if (!id) return fail(Errc::invalid_input, what + ":" + std::to_string(line_no) + ": not a block id");
    if (ids.size() == kMaxProfileIds)
      return fail(Errc::invalid_input, what + " holds more than " + std::to_string(kMaxProfileIds) + " ids");
    ids.push_back(*id);
  }
  return ids;
}

std::vector<Hash> dedupe_profile(std::span<const Hash> ids, size_t max) {
  std::vector<Hash> out;
  std::unordered_set<Hash, IdHash> seen;
  for (const Hash& id : ids) {
    if (out.size() == max) break;
    if (seen.insert(id).second) out.push_back(id);
  }
  return out;
}

Result<std::vector<Hash>> read_flist_profile(const std::string& path) {
  auto read = [&]() -> Result<std::vector<Hash>> {
    sql::Db db = TRY(sql::Db::open_readonly(path));
    TRY(schema::require_rfs_tables(db, path));
    return read_profile_table(db, path);
  };
  auto r = read();
  if (!r && r.error().kind == Errc::corrupt) r.error().kind = Errc::invalid_input;  // a malformed database
  return r;
}

namespace {

// Every row of the block table of `db` (repeats included, unsorted: no DISTINCT, which would
// make SQLite sort them). A row that is not a 32-byte id is skipped, or with `strict` an error.
Result<void> scan_block_table(sql::Db& db, const std::string& path, bool strict, const std::function<void(const Hash&)>& each) {
  auto rows = TRY(sql::Stmt::prepare(db, "SELECT id FROM block"));
  while (TRY(rows.step())) {
    auto b = rows.blob(0);
    if (rows.type(0) != SQLITE_BLOB || b.size() != 32) {
      if (strict) return fail(Errc::corrupt, path + " has a block row that is not a 32-byte id");
      continue;  // load_flist refuses such files
    }
    Hash h;
    std::copy(b.begin(), b.end(), h.begin());
    each(h);
  }
  return {};
}

}  // namespace

Result<void> for_each_block_id(const std::string& path, const std::function<void(const Hash&)>& each) {
  sql::Db db = TRY(sql::Db::open_readonly(path));
  TRY(schema::require_rfs_tables(db, path));
  return scan_block_table(db, path, true, each);
}

Result<std::vector<Hash>> flist_block_ids(const std::string& path) {
  sql::Db db = TRY(sql::Db::open_readonly(path));
  TRY(schema::require_rfs_tables(db, path));
  std::vector<Hash> ids;
  TRY(scan_block_table(db, path, false, [&](const Hash& h) { ids.push_back(h); }));
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Result<size_t> write_flist_profile(const std::string& path, std::span<const Hash> ids) {
  auto edit = [&]() -> Result<size_t> {
    sql::Db db = TRY(sql::Db::open_readwrite(path, false));
    TRY(schema::require_rfs_tables(db, path));
    TRY(db.exec("BEGIN IMMEDIATE"));
    auto r = [&]() -> Result<size_t> {
      // The flist's own blocks, read under the write lock: a profile names nothing else.
      std::unordered_set<Hash, IdHash> known;
      TRY(scan_block_table(db, path, false, [&](const Hash& h) { known.insert(h); }));
      std::vector<Hash> keep;
      for (const Hash& id : dedupe_profile(ids, ids.size()))
        if (keep.size() < kMaxProfileIds && known.contains(id)) keep.push_back(id);
      TRY(db.exec("DROP TABLE IF EXISTS tiffin_profile"));
      if (!keep.empty()) {
        TRY(db.exec(schema::kProfile));
        auto put = TRY(sql::Stmt::prepare(db, schema::kInsertProfile));
        for (size_t i = 0; i < keep.size(); ++i) TRY(put.bind(1, static_cast<int64_t>(i)).bind_blob(2, keep[i]).run());
      }
      TRY(db.exec("COMMIT"));
      return keep.size();
    }();
    if (!r) (void)db.exec("ROLLBACK");
    return r;
  };
  auto r = edit();
  if (!r && r.error().kind == Errc::corrupt) r.error().kind = Errc::invalid_input;
  if (!r) return std::unexpected(std::move(r).error().context("embedding a profile in " + path));
  return r;
}

Result<size_t> embed_profile_file(const std::string& flist, const std::string& profile) {
  Bytes raw = TRY_CTX(read_file(profile, size_t(128) << 20), "reading profile " + profile);
  auto ids = TRY(parse_profile_text({reinterpret_cast<const char*>(raw.data()), raw.size()}, profile));
  return write_flist_profile(flist, ids);
}

}  // namespace tiffin
