// Fuzzes the node's reader of batch responses (store/block_batch): a body from the network, cut
// into pieces of sizes the input chooses (its first byte), must give frames or a clean error,
// never a crash, and never frames beyond what the bytes hold.
#include <cstdint>
#include <span>

#include "store/block_batch.hpp"

using namespace tiffin;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = 1 + data[0] % 64;
  std::span<const uint8_t> body(data + 1, size - 1);
  BatchDecoder decoder(1 << 16);  // small bound: oversize frames are reached
  size_t bytes = 0, frames = 0;
  for (size_t at = 0; at < body.size(); at += piece) {
    auto r = decoder.feed(body.subspan(at, std::min(piece, body.size() - at)), [&](BatchFrame&& f) -> Result<void> {
      ++frames;
      bytes += kBatchHeaderSize + f.sealed.size();
      if (f.status == BatchStatus::missing && !f.sealed.empty()) __builtin_trap();
      return {};
    });
    if (!r) break;
  }
  if (bytes > body.size() || frames != decoder.frames()) __builtin_trap();
  return 0;
}
