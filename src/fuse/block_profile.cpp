#include "fuse/block_profile.hpp"

#include <cstring>

#include "common/fd.hpp"

namespace tiffin {

namespace {
constexpr std::string_view kHeader = "# tiffin prefetch profile v1";
}

void BlockRecorder::note(const Hash& id) {
  std::lock_guard lock(mu_);
  if (seen_.insert(id).second) order_.push_back(id);
}

std::vector<Hash> BlockRecorder::order() const {
  std::lock_guard lock(mu_);
  return order_;
}

std::string profile_text(const std::vector<Hash>& ids) {
  std::string text(kHeader);
  text += '\n';
  for (const Hash& id : ids) text += to_hex(id) + '\n';
  return text;
}

Result<void> BlockRecorder::save(const std::string& path) const {
  std::string text = profile_text(order());
  return write_file_atomic(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

Result<std::vector<Hash>> load_profile(const std::string& path) {
  Bytes raw = TRY_CTX(read_file(path, size_t(64) << 20), "reading profile " + path);
  std::string_view text(reinterpret_cast<const char*>(raw.data()), raw.size());
  if (!text.starts_with(kHeader)) return fail(Errc::invalid_input, path + " is not a tiffin prefetch profile");
  std::vector<Hash> ids;
  size_t line_no = 1;
  for (size_t pos = text.find('\n'); pos != std::string_view::npos && pos + 1 < text.size();) {
    size_t end = text.find('\n', pos + 1);
    std::string_view line = text.substr(pos + 1, end == std::string_view::npos ? std::string_view::npos : end - pos - 1);
    ++line_no;
    pos = end;
    if (line.empty()) continue;
    auto id = hash_from_hex(line);
    if (!id) return fail(Errc::invalid_input, path + ":" + std::to_string(line_no) + ": not a block id");
    ids.push_back(*id);
  }
  return ids;
}

}  // namespace tiffin
