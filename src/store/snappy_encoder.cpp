#include "store/snappy_encoder.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace tiffin {
namespace {

constexpr size_t kFragmentSize = size_t(1) << 16;  // the input is compressed in independent fragments
constexpr size_t kMaxTableSize = size_t(1) << 14;
constexpr size_t kMinTableSize = 256;
constexpr size_t kInputMargin = 15;                      // bytes at a fragment's end no match starts in
constexpr size_t kMinCompressed = 1 + 1 + kInputMargin;  // shorter fragments are one literal
constexpr uint32_t kHashMultiplier = 0x1E35A7BD;

enum Tag : uint8_t { kLiteral = 0b00, kCopy1 = 0b01, kCopy2 = 0b10 };

// The hash is over the little-endian value of the four bytes, whatever the machine's order.
inline uint32_t load_le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
  return v;
}
inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
  return v;
}

// src[0, len) as a literal. Short literals copy 16 bytes at once when the input has them: the
// bytes past `len` are overwritten by what follows, or lie past the end of the output.
inline uint8_t* emit_literal(uint8_t* d, const uint8_t* src, size_t len, const uint8_t* in_end) {
  const size_t n = len - 1;
  if (n <= 59) {
    *d++ = static_cast<uint8_t>(n << 2) | kLiteral;
    if (len <= 16 && src + 16 <= in_end) {
      std::memcpy(d, src, 16);
      return d + len;
    }
  } else if (n < 256) {
    *d++ = (60 << 2) | kLiteral;
    *d++ = static_cast<uint8_t>(n);
  } else {
    *d++ = (61 << 2) | kLiteral;
    *d++ = static_cast<uint8_t>(n);
    *d++ = static_cast<uint8_t>(n >> 8);
  }
  std::memcpy(d, src, len);
  return d + len;
}

inline uint8_t* emit_copy2(uint8_t* d, size_t offset, size_t len) {
  d[0] = static_cast<uint8_t>((len - 1) << 2) | kCopy2;
  d[1] = static_cast<uint8_t>(offset);
  d[2] = static_cast<uint8_t>(offset >> 8);
  return d + 3;
}

// offset in [1, 65535], len ≥ 4. Lengths of 65…67 start with a copy of 60, not 64: the rest
// (5…7) then fits a 2-byte copy-1, where 1…3 would need a 3-byte copy-2.
inline uint8_t* emit_copy(uint8_t* d, size_t offset, size_t len) {
  while (len >= 68) {
    d = emit_copy2(d, offset, 64);
    len -= 64;
  }
  if (len > 64) {
    d = emit_copy2(d, offset, 60);
    len -= 60;
  }
  if (len <= 11 && offset <= 2047) {
    d[0] = static_cast<uint8_t>(((offset >> 8) << 5) | ((len - 4) << 2)) | kCopy1;
    d[1] = static_cast<uint8_t>(offset);
    return d + 2;
  }
  return emit_copy2(d, offset, len);
}

// The end of the match of src[s…] with src[cand…] (cand < s), bounded by the fragment's end.
inline size_t extend_match(const uint8_t* src, size_t n, size_t s, size_t cand) {
  while (s + 8 <= n) {
    uint64_t x, y;
    std::memcpy(&x, src + s, 8);
    std::memcpy(&y, src + cand, 8);
    if (x != y) {
      uint64_t diff = load_le64(src + s) ^ load_le64(src + cand);
      return s + static_cast<size_t>(std::countr_zero(diff)) / 8;
    }
    s += 8;
    cand += 8;
  }
  while (s < n && src[s] == src[cand]) {
    ++s;
    ++cand;
  }
  return s;
}

// One fragment of n ≥ kMinCompressed bytes; `table` holds kMaxTableSize entries.
uint8_t* compress_fragment(const uint8_t* src, size_t n, uint8_t* d, uint16_t* table, const uint8_t* in_end) {
  uint32_t shift = 32 - 8;
  size_t table_size = kMinTableSize;
  while (table_size < kMaxTableSize && table_size < n) {
    --shift;
    table_size *= 2;
  }
  std::memset(table, 0, table_size * sizeof *table);
  auto hash = [shift](uint32_t x) { return (x * kHashMultiplier) >> shift; };

  const size_t s_limit = n - kInputMargin;
  size_t s = 1, next_emit = 0;
  uint32_t next_hash = hash(load_le32(src + s));
  for (;;) {
    // Probe for a 4-byte match, stepping further the longer nothing matches.
    size_t skip = 32, next_s = s, cand;
    for (;;) {
      s = next_s;
      const size_t step = skip >> 5;
      next_s = s + step;
      skip += step;
      if (next_s > s_limit) [[unlikely]]
        goto done;
      cand = table[next_hash];
      table[next_hash] = static_cast<uint16_t>(s);
      next_hash = hash(load_le32(src + next_s));
      uint32_t cur, old;
      std::memcpy(&cur, src + s, 4);
      std::memcpy(&old, src + cand, 4);
      if (cur == old) break;
    }
    d = emit_literal(d, src + next_emit, s - next_emit, in_end);
    // Copies, as long as the position right after one starts another match.
    for (;;) {
      const size_t base = s;
      s = extend_match(src, n, s + 4, cand + 4);
      d = emit_copy(d, base - cand, s - base);
      next_emit = s;
      if (s >= s_limit) goto done;
      const uint64_t x = load_le64(src + s - 1);
      table[hash(static_cast<uint32_t>(x))] = static_cast<uint16_t>(s - 1);
      const uint32_t cur_hash = hash(static_cast<uint32_t>(x >> 8));
      cand = table[cur_hash];
      table[cur_hash] = static_cast<uint16_t>(s);
      if (static_cast<uint32_t>(x >> 8) != load_le32(src + cand)) {
        next_hash = hash(static_cast<uint32_t>(x >> 16));
        ++s;
        break;
      }
    }
  }
done:
  if (next_emit < n) d = emit_literal(d, src + next_emit, n - next_emit, in_end);
  return d;
}

}  // namespace

size_t snappy_compress(std::span<const uint8_t> in, uint8_t* out) {
  uint8_t* d = out;
  // The header: the uncompressed length as a varint.
  for (uint64_t v = in.size();; v >>= 7) {
    if (v < 0x80) {
      *d++ = static_cast<uint8_t>(v);
      break;
    }
    *d++ = static_cast<uint8_t>(v | 0x80);
  }
  uint16_t table[kMaxTableSize];
  const uint8_t* const end = in.data() + in.size();
  for (const uint8_t* p = in.data(); p < end;) {
    const size_t n = std::min(kFragmentSize, static_cast<size_t>(end - p));
    d = n < kMinCompressed ? emit_literal(d, p, n, end) : compress_fragment(p, n, d, table, end);
    p += n;
  }
  return static_cast<size_t>(d - out);
}

}  // namespace tiffin
