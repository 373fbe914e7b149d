// A second, deliberately plain implementation of the Rust `snap` crate's raw encoder (1.x), kept
// apart from src/store/snappy_encoder.cpp so the two can be compared: it follows the crate's
// structure step by step (an Encoder owning a small and a big table, a Block with s, s_limit and
// next_emit, the same emit functions), reads every byte through bounds-checked accessors and
// appends to a vector. Slow and obvious on purpose; the tests only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tiffin::test {

std::vector<uint8_t> snap_reference_compress(std::span<const uint8_t> input);

}  // namespace tiffin::test
