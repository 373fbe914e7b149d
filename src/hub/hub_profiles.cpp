// The hub's learnt prefetch profiles: reports kept per flist file, merged on every report.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/fd.hpp"
#include "common/text.hpp"
#include "flist/flist_profile.hpp"
#include "hub/flist_ref.hpp"
#include "hub/hub_repository.hpp"
#include "hub/profile_merge.hpp"

namespace tiffin::hub {
namespace {

namespace pfs = std::filesystem;

constexpr const char* kMergedProfile = "merged.profile";

// The report files of a profile directory, "<seq>.<reporter>.ids", oldest first.
struct ReportFile {
  uint64_t seq;
  std::string reporter, path;
  bool operator<(const ReportFile& o) const { return seq < o.seq; }
};
std::vector<ReportFile> report_files(const std::string& dir) {
  std::vector<ReportFile> out;
  std::error_code ec;
  for (const auto& e : pfs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (!name.ends_with(".ids")) continue;
    std::string_view stem = std::string_view(name).substr(0, name.size() - 4);
    size_t dot = stem.find('.');
    auto seq = parse_uint(stem.substr(0, dot));
    if (seq) out.push_back({*seq, dot == std::string_view::npos ? "" : std::string(stem.substr(dot + 1)), e.path().string()});
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

Result<HubRepository::ProfileReportResult> HubRepository::add_profile_report(
    const FlistRef& ref, std::span<const Hash> ids, const std::string& reporter) {
  if (!valid_name(reporter)) return fail(Errc::invalid_input, "not a user name: " + reporter);
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
  uint64_t seq = files.empty() ? 1 : files.back().seq + 1;
  // The reporter's earlier report gives way to this one.
  std::erase_if(files, [&](const ReportFile& f) { return f.reporter == reporter && ::unlink(f.path.c_str()) == 0; });
  Bytes raw;
  raw.reserve(keep.size() * 32);
  for (const Hash& id : keep) raw.insert(raw.end(), id.begin(), id.end());
  char seq_text[24];
  std::snprintf(seq_text, sizeof seq_text, "%012llu", static_cast<unsigned long long>(seq));
  std::string path = dir + "/" + seq_text + "." + reporter + ".ids";
  TRY(write_file_atomic(path, raw, 0644, false));
  files.push_back({seq, reporter, path});
  while (files.size() > kProfileReportsKept) {
    ::unlink(files.front().path.c_str());
    files.erase(files.begin());
  }

  std::vector<std::vector<Hash>> reports;
  for (const auto& f : files) {
    auto r = read_report(f.path);
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
