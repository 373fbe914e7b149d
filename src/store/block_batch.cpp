#include "store/block_batch.hpp"

#include <algorithm>
#include <cstring>

namespace tiffin {

std::array<uint8_t, kBatchHeaderSize> batch_frame_header(const Hash& id, BatchStatus status, uint32_t length) {
  std::array<uint8_t, kBatchHeaderSize> h{};
  std::memcpy(h.data(), id.data(), 32);
  h[32] = static_cast<uint8_t>(status);
  h[33] = static_cast<uint8_t>(length >> 24);
  h[34] = static_cast<uint8_t>(length >> 16);
  h[35] = static_cast<uint8_t>(length >> 8);
  h[36] = static_cast<uint8_t>(length);
  return h;
}

Bytes encode_batch_frame(const Hash& id, const std::span<const uint8_t>* sealed) {
  auto h = batch_frame_header(id, sealed ? BatchStatus::present : BatchStatus::missing, sealed ? sealed->size() : 0);
  Bytes out(h.size() + (sealed ? sealed->size() : 0));
  std::memcpy(out.data(), h.data(), h.size());
  if (sealed && !sealed->empty()) std::memcpy(out.data() + h.size(), sealed->data(), sealed->size());
  return out;
}

Result<void> BatchDecoder::feed(std::span<const uint8_t> data, const std::function<Result<void>(BatchFrame&&)>& on_frame) {
  if (failed_) return fail(Errc::corrupt, "batch response: reading after an error");
  auto broken = [&](std::string why) {
    failed_ = true;
    return fail(Errc::corrupt, "batch response, frame " + std::to_string(frames_) + ": " + why);
  };
  while (!data.empty()) {
    if (!in_body_) {
      size_t n = std::min(kBatchHeaderSize - have_, data.size());
      std::memcpy(header_.data() + have_, data.data(), n);
      have_ += n;
      data = data.subspan(n);
      if (have_ < kBatchHeaderSize) break;
      uint8_t status = header_[32];
      uint32_t length = uint32_t(header_[33]) << 24 | uint32_t(header_[34]) << 16 | uint32_t(header_[35]) << 8 | header_[36];
      if (status > 1) return broken("unknown status " + std::to_string(status));
      if (status == 1 && length != 0) return broken("a missing block with " + std::to_string(length) + " bytes");
      if (length > max_frame_)
        return broken("a block of " + std::to_string(length) + " bytes (at most " + std::to_string(max_frame_) + ")");
      std::memcpy(frame_.id.data(), header_.data(), 32);
      frame_.status = static_cast<BatchStatus>(status);
      frame_.sealed.clear();
      frame_.sealed.resize(length);
      have_ = 0;
      in_body_ = true;
    }
    size_t n = std::min(frame_.sealed.size() - have_, data.size());
    if (n) std::memcpy(frame_.sealed.data() + have_, data.data(), n);
    have_ += n;
    data = data.subspan(n);
    if (have_ < frame_.sealed.size()) break;
    in_body_ = false;
    have_ = 0;
    ++frames_;
    auto r = on_frame(std::move(frame_));
    frame_ = BatchFrame{};
    if (!r) {
      failed_ = true;
      return r;
    }
  }
  return {};
}

}  // namespace tiffin
