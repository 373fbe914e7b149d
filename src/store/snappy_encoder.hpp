// Snappy's raw format, compressed exactly as rfs compresses it: byte for byte what the Rust `snap`
// crate's raw encoder (snap::raw::Encoder::compress_vec, crate 1.x, which rfs uses) emits.
//
// Why not libsnappy: both produce valid snappy that either decodes, but they choose different
// matches (the hash table is indexed by other bits of the hash, the skipping differs), so for most
// compressible inputs the bytes differ — and with them the sealed block and its id. A block packed
// by tiffin and by rfs from the same file must be the same block, or stores hold it twice.
//
// The algorithm, per 64 KiB fragment of the input: fragments under 17 bytes are one literal;
// otherwise a hash table of u16 positions (256 … 16384 slots, the smallest power of two not below
// the fragment's length), hash = (u32 at p) * 0x1E35A7BD >> (32 - log2(slots)), the classic
// skip heuristic (one more byte between probes per 32 misses), the last 15 bytes never start a
// match, copies of up to 64 bytes (68 or more: 64, 65…67: 60 first), copy-1 for lengths 4…11
// at offsets below 2048. Decoding is not here: libsnappy decodes any valid snappy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tiffin {

// The largest output compressing `n` bytes can give (32 + n + n/6, as both encoders say).
constexpr size_t snappy_max_compressed_length(size_t n) { return 32 + n + n / 6; }

// Compresses `in` (at most 2^32 - 1 bytes) into `out`, which must have room for
// snappy_max_compressed_length(in.size()) bytes; returns the bytes written. Bytes of `out` past
// the returned length may have been written to and hold nothing meaningful.
size_t snappy_compress(std::span<const uint8_t> in, uint8_t* out);

}  // namespace tiffin
