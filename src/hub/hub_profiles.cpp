// The hub's learnt prefetch profiles: reports kept per flist file, merged on every report.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/fd.hpp"
#include "common/text.hpp"
#include "flist/flist_profile.hpp"
#include "hub/hub_repository.hpp"
#include "hub/profile_merge.hpp"

namespace tiffin::hub {
namespace {

namespace pfs = std::filesystem;

constexpr const char* kMergedProfile = "merged.profile";

// "<seq>.ids" report files of a profile directory, oldest first.
std::vector<std::pair<uint64_t, std::string>> report_files(const std::string& dir) {
  std::vector<std::pair<uint64_t, std::string>> out;
  std::error_code ec;
  for (const auto& e : pfs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (!name.ends_with(".ids")) continue;
    auto seq = parse_uint(std::string_view(name).substr(0, name.size() - 4));
    if (seq) out.emplace_back(*seq, e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<Hash>> read_report(const std::string& path) {
  Bytes raw = TRY(read_file(path, size_t(64) << 20));
  if (raw.size() % 32) return fail(Errc::corrupt, path + " is not a list of block ids");
  std::vector<Hash> ids(raw.size() / 32);
  for (size_t i = 0; i < ids.size(); ++i) std::copy_n(raw.begin() + static_cast<ptrdiff_t>(i * 32), 32, ids[i].begin());
  return ids;
}

}  // namespace

Result<HubRepository::ProfileReportResult> HubRepository::add_profile_report(const FlistRef& ref, std::span<const Hash> ids) {
  FlistInfo info = TRY(this->info(ref));  // not_found for a flist this hub does not have
  std::vector<Hash> blocks = TRY(flist_block_ids(TRY(resolve(ref))));
  std::vector<Hash> keep;
  for (const Hash& id : dedupe_profile(ids))
    if (std::binary_search(blocks.begin(), blocks.end(), id)) keep.push_back(id);
  if (keep.empty())
    return fail(Errc::invalid_input, "none of the report's " + std::to_string(ids.size()) + " ids is a block of " + ref.str());

  std::lock_guard lock(*profiles_mu_);
  std::string dir = root_ + "/profiles/" + info.sha256;
  std::error_code ec;
  pfs::create_directories(dir, ec);
  if (ec) return fail(Errc::io, "creating " + dir + ": " + ec.message());
  auto files = report_files(dir);
  uint64_t seq = files.empty() ? 1 : files.back().first + 1;
  Bytes raw;
  raw.reserve(keep.size() * 32);
  for (const Hash& id : keep) raw.insert(raw.end(), id.begin(), id.end());
  char name[32];
  std::snprintf(name, sizeof name, "%012llu.ids", static_cast<unsigned long long>(seq));
  TRY(write_file_atomic(dir + "/" + name, raw, 0644, false));
  files.emplace_back(seq, dir + "/" + name);
  while (files.size() > kProfileReportsKept) {
    ::unlink(files.front().second.c_str());
    files.erase(files.begin());
  }

  std::vector<std::vector<Hash>> reports;
  for (const auto& [n, path] : files) {
    auto r = read_report(path);
    if (r) reports.push_back(std::move(*r));  // a damaged report only stops counting
  }
  std::vector<Hash> merged = merge_profiles(reports);
  std::string merged_path = dir + "/" + kMergedProfile;
  if (merged.empty()) {
    ::unlink(merged_path.c_str());
  } else {
    TRY(write_file_atomic(merged_path, std::string_view(profile_text(merged)), 0644, false));
  }
  return ProfileReportResult{keep.size(), ids.size() - keep.size(), reports.size(), merged.size()};
}

Result<std::optional<std::vector<Hash>>> HubRepository::profile(const FlistRef& ref) const {
  FlistInfo info = TRY(this->info(ref));
  std::string merged_path = root_ + "/profiles/" + info.sha256 + "/" + kMergedProfile;
  auto raw = read_file(merged_path, size_t(64) << 20);
  if (raw) {
    auto ids = parse_profile_text({reinterpret_cast<const char*>(raw->data()), raw->size()}, merged_path);
    if (ids && !ids->empty()) return std::optional(std::move(*ids));
  }
  std::vector<Hash> embedded = TRY(read_flist_profile(TRY(resolve(ref))));
  if (embedded.empty()) return std::optional<std::vector<Hash>>();
  return std::optional(std::move(embedded));
}

}  // namespace tiffin::hub
