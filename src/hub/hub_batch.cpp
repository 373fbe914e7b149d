#include "hub/hub_batch.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>

#include "common/fd.hpp"
#include "store/block_batch.hpp"

namespace tiffin::hub {

Result<HubResponse> batch_blocks(const HubRepository& repo, const HubRequest& req) {
  // Bounded before parsing: a request needs ~70 bytes an id, and reads need no token.
  if (req.body.size() > kBatchMaxIds * 80 + 64)
    return fail(Errc::invalid_input, "at most " + std::to_string(kBatchMaxIds) + " ids per batch");
  std::vector<Hash> want = TRY(parse_block_ids(req.body, kBatchMaxIds));
  HubResponse r;
  r.content_type = std::string(kBatchContentType);
  r.stream = [&repo, want = std::move(want)](const HubBodyWriter& write) -> Result<void> {
    Bytes frame;
    for (const Hash& id : want) {
      std::string path = repo.block_path(id);
      UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      struct stat st {};
      if (!fd) {
        if (errno != ENOENT) return fail_errno("open " + path);
      } else if (::fstat(fd.get(), &st) != 0) {
        return fail_errno("fstat " + path);
      }
      // The hub accepts no block near the frame bound; one past it is left out as missing.
      bool present = fd && static_cast<uint64_t>(st.st_size) <= kBatchMaxFrame;
      size_t size = present ? st.st_size : 0;
      auto header = batch_frame_header(id, present ? BatchStatus::present : BatchStatus::missing, size);
      frame.resize(kBatchHeaderSize + size);
      std::memcpy(frame.data(), header.data(), header.size());
      if (present) {
        size_t got = TRY(read_full_at(fd.get(), std::span(frame).subspan(kBatchHeaderSize), 0));
        if (got != size) return fail(Errc::io, path + " changed while it was read");
      }
      TRY(write(frame));
    }
    return {};
  };
  return r;
}

}  // namespace tiffin::hub
