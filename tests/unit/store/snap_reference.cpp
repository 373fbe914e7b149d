#include "store/snap_reference.hpp"

#include <algorithm>
#include <stdexcept>

namespace tiffin::test {
namespace {

constexpr size_t MAX_BLOCK_SIZE = 1 << 16;
constexpr size_t MAX_TABLE_SIZE = 1 << 14;
constexpr size_t SMALL_TABLE_SIZE = 1 << 10;
constexpr size_t INPUT_MARGIN = 16 - 1;
constexpr size_t MIN_NON_LITERAL_BLOCK_SIZE = 1 + 1 + INPUT_MARGIN;

// Little-endian reads, one byte at a time, bounds-checked.
uint8_t at(std::span<const uint8_t> b, size_t i) {
  if (i >= b.size()) throw std::out_of_range("snap reference: read past the block");
  return b[i];
}
uint32_t read_u32_le(std::span<const uint8_t> b, size_t i) {
  uint32_t v = 0;
  for (size_t k = 0; k < 4; ++k) v |= uint32_t(at(b, i + k)) << (8 * k);
  return v;
}
uint64_t read_u64_le(std::span<const uint8_t> b, size_t i) {
  uint64_t v = 0;
  for (size_t k = 0; k < 8; ++k) v |= uint64_t(at(b, i + k)) << (8 * k);
  return v;
}

struct BlockTable {
  std::vector<uint16_t>& table;  // exactly `size` entries are used
  size_t size;
  uint32_t shift;
  size_t hash(uint32_t x) const { return size_t(uint32_t(x * 0x1E35A7BDu) >> shift); }
  uint16_t& at(size_t h) { return table.at(h); }
};

struct Block {
  std::span<const uint8_t> src;
  size_t s = 0;
  size_t s_limit;
  std::vector<uint8_t>& dst;
  size_t next_emit = 0;

  Block(std::span<const uint8_t> src_, std::vector<uint8_t>& dst_) : src(src_), s_limit(src_.size()), dst(dst_) {}

  void emit_literal(size_t lit_end) {
    size_t lit_start = next_emit;
    size_t len = lit_end - lit_start;
    size_t n = len - 1;
    if (n <= 59) {
      dst.push_back(uint8_t(n << 2) | 0b00);
    } else if (n < 256) {
      dst.push_back(uint8_t(60 << 2) | 0b00);
      dst.push_back(uint8_t(n));
    } else {
      dst.push_back(uint8_t(61 << 2) | 0b00);
      dst.push_back(uint8_t(n & 0xff));
      dst.push_back(uint8_t(n >> 8));
    }
    for (size_t i = lit_start; i < lit_end; ++i) dst.push_back(src[i]);
  }

  void emit_copy2(size_t offset, size_t len) {
    dst.push_back(uint8_t((len - 1) << 2) | 0b10);
    dst.push_back(uint8_t(offset & 0xff));
    dst.push_back(uint8_t(offset >> 8));
  }

  void emit_copy(size_t offset, size_t len) {
    while (len >= 68) {
      emit_copy2(offset, 64);
      len -= 64;
    }
    if (len > 64) {
      emit_copy2(offset, 60);
      len -= 60;
    }
    if (len <= 11 && offset <= 2047) {
      dst.push_back(uint8_t(((offset >> 8) << 5) | ((len - 4) << 2) | 0b01));
      dst.push_back(uint8_t(offset & 0xff));
    } else {
      emit_copy2(offset, len);
    }
  }

  void extend_match(size_t cand) {
    while (s < src.size() && at(src, s) == at(src, cand)) {
      ++s;
      ++cand;
    }
  }

  void done() {
    if (next_emit < src.size()) emit_literal(src.size());
  }

  void compress(BlockTable& table) {
    s += 1;
    s_limit -= INPUT_MARGIN;
    size_t next_hash = table.hash(read_u32_le(src, s));
    for (;;) {
      size_t skip = 32;
      size_t candidate;
      size_t s_next = s;
      for (;;) {
        s = s_next;
        size_t bytes_between_hash_lookups = skip >> 5;
        s_next = s + bytes_between_hash_lookups;
        skip += bytes_between_hash_lookups;
        if (s_next > s_limit) return done();
        candidate = table.at(next_hash);
        table.at(next_hash) = uint16_t(s);
        next_hash = table.hash(read_u32_le(src, s_next));
        if (read_u32_le(src, s) == read_u32_le(src, candidate)) break;
      }
      emit_literal(s);
      for (;;) {
        size_t base = s;
        s += 4;
        extend_match(candidate + 4);
        emit_copy(base - candidate, s - base);
        next_emit = s;
        if (s >= s_limit) return done();
        uint64_t x = read_u64_le(src, s - 1);
        size_t prev_hash = table.hash(uint32_t(x));
        table.at(prev_hash) = uint16_t(s - 1);
        size_t cur_hash = table.hash(uint32_t(x >> 8));
        candidate = table.at(cur_hash);
        table.at(cur_hash) = uint16_t(s);
        uint32_t y = read_u32_le(src, candidate);
        if (uint32_t(x >> 8) != y) {
          next_hash = table.hash(uint32_t(x >> 16));
          s += 1;
          break;
        }
      }
    }
  }
};

struct Encoder {
  std::vector<uint16_t> small = std::vector<uint16_t>(SMALL_TABLE_SIZE, 0);
  std::vector<uint16_t> big;

  BlockTable block_table(size_t block_size) {
    uint32_t shift = 32 - 8;
    size_t table_size = 256;
    while (table_size < MAX_TABLE_SIZE && table_size < block_size) {
      shift -= 1;
      table_size *= 2;
    }
    std::vector<uint16_t>* t = &small;
    if (table_size > SMALL_TABLE_SIZE) {
      if (big.empty()) big.assign(MAX_TABLE_SIZE, 0);
      t = &big;
    }
    std::fill(t->begin(), t->begin() + static_cast<ptrdiff_t>(table_size), 0);
    return BlockTable{*t, table_size, shift};
  }

  std::vector<uint8_t> compress(std::span<const uint8_t> input) {
    std::vector<uint8_t> out;
    if (input.empty()) {
      out.push_back(0);
      return out;
    }
    for (uint64_t v = input.size();; v >>= 7) {
      if (v < 128) {
        out.push_back(uint8_t(v));
        break;
      }
      out.push_back(uint8_t(v & 0x7f) | 0x80);
    }
    while (!input.empty()) {
      std::span<const uint8_t> src = input.first(std::min(input.size(), MAX_BLOCK_SIZE));
      input = input.subspan(src.size());
      Block block(src, out);
      if (src.size() < MIN_NON_LITERAL_BLOCK_SIZE) {
        block.emit_literal(src.size());
      } else {
        BlockTable table = block_table(src.size());
        block.compress(table);
      }
    }
    return out;
  }
};

}  // namespace

std::vector<uint8_t> snap_reference_compress(std::span<const uint8_t> input) { return Encoder().compress(input); }

}  // namespace tiffin::test
