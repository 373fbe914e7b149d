// The batch block format: many blocks in one HTTP response (the hub's POST /api/blocks/batch,
// read by HttpStore::get_many). The header is the contract between hub and node.
//
// Request:  a JSON array of hex block ids (or {"ids": [...]}), at most kBatchMaxIds of them.
// Response: 200, Content-Type kBatchContentType, one frame per requested id, in request order:
//
//   offset  size  field
//   0       32    the block id, raw bytes (as requested: a reader checks it)
//   32      1     status: 0 = present, 1 = missing
//   33      4     length of the sealed bytes, big-endian; 0 when missing, ≤ kBatchMaxFrame
//   37      len   the sealed block, exactly as a GET of the block returns it
//
// There is nothing before the first frame or after the last; a body that ends inside a frame
// was cut off. The bytes are not verified here: the reader decodes each block (block_codec).
#pragma once

#include <array>
#include <functional>
#include <span>
#include <string_view>

#include "common/error.hpp"
#include "common/hash.hpp"

namespace tiffin {

inline constexpr std::string_view kBatchContentType = "application/vnd.tiffin.blocks";
inline constexpr size_t kBatchMaxIds = 256;
inline constexpr size_t kBatchMaxFrame = 16u << 20;  // larger than any block a hub accepts
inline constexpr size_t kBatchHeaderSize = 32 + 1 + 4;

enum class BatchStatus : uint8_t { present = 0, missing = 1 };

// A frame's 37-byte header; the `length` sealed bytes follow it.
std::array<uint8_t, kBatchHeaderSize> batch_frame_header(const Hash& id, BatchStatus status, uint32_t length);
// A whole frame: present with `sealed`, or missing (no bytes) when `sealed` is null.
Bytes encode_batch_frame(const Hash& id, const std::span<const uint8_t>* sealed);

struct BatchFrame {
  Hash id{};
  BatchStatus status = BatchStatus::missing;
  Bytes sealed;  // empty when missing
};

// Reads frames from a body given in pieces of any size (one byte at a time works). Malformed
// input — an unknown status, a missing frame with bytes, a length over the bound — is
// Errc::corrupt, and the decoder stays failed. Only the frame being read is buffered.
class BatchDecoder {
 public:
  explicit BatchDecoder(size_t max_frame = kBatchMaxFrame) : max_frame_(max_frame) {}
  // Calls `on_frame` for every frame completed by `data`; its error stops decoding and is
  // returned.
  Result<void> feed(std::span<const uint8_t> data, const std::function<Result<void>(BatchFrame&&)>& on_frame);
  // True when everything fed so far ended exactly at a frame boundary (not inside a frame).
  bool at_boundary() const { return !failed_ && have_ == 0 && !in_body_; }
  size_t frames() const { return frames_; }

 private:
  size_t max_frame_;
  std::array<uint8_t, kBatchHeaderSize> header_{};
  size_t have_ = 0;  // header bytes so far, or body bytes so far once in_body_
  bool in_body_ = false;
  bool failed_ = false;
  size_t frames_ = 0;
  BatchFrame frame_;
};

}  // namespace tiffin
