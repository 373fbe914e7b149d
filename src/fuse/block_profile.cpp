#include "fuse/block_profile.hpp"

#include <cstring>

#include "common/fd.hpp"
#include "flist/flist_profile.hpp"

namespace tiffin {

void BlockRecorder::note(const Hash& id) {
  std::lock_guard lock(mu_);
  if (seen_.insert(id).second) order_.push_back(id);
}

std::vector<Hash> BlockRecorder::order() const {
  std::lock_guard lock(mu_);
  return order_;
}

Result<void> BlockRecorder::save(const std::string& path) const {
  std::string text = profile_text(order());
  return write_file_atomic(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

Result<std::vector<Hash>> load_profile(const std::string& path) {
  Bytes raw = TRY_CTX(read_file(path, size_t(64) << 20), "reading profile " + path);
  return parse_profile_text({reinterpret_cast<const char*>(raw.data()), raw.size()}, path);
}

}  // namespace tiffin
