#include "common/hash.hpp"

#include <sodium.h>

#include <bit>
#include <cstring>
#include <stdexcept>

namespace tiffin {
namespace {
struct SodiumInit {
  SodiumInit() {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  }
};
const SodiumInit sodium_init_once;
static_assert(sizeof(crypto_generichash_state) <= 384);

}  // namespace

// BLAKE2b-256 (RFC 7693), one-shot, in portable scalar code. Every block a node reads is
// hashed once, so this is on the lazy mount's hot path; libsodium 1.0.18 picks its AVX2 code
// after sodium_init, which measured at half the speed of scalar code on the x86 machines we run
// on (≈ 0.5 vs 1.0–1.3 GB/s for 512 KiB blocks, also below OpenSSL's scalar BLAKE2b-512), and it
// has no way to choose. The result is checked against libsodium's (hash_test.cpp).
namespace {

constexpr uint64_t kIv[8] = {0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};
constexpr uint8_t kSigma[12][16] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}, {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8}, {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9}, {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10}, {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

inline uint64_t rotr(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

// Compresses one 128-byte block; `t` counts the bytes so far, `last` marks the final block.
void compress(uint64_t h[8], const uint8_t* block, uint64_t t, bool last) {
  uint64_t m[16], v[16];
  std::memcpy(m, block, sizeof m);  // little-endian, as x86 and the RFC are
  for (int i = 0; i < 8; ++i) {
    v[i] = h[i];
    v[i + 8] = kIv[i];
  }
  v[12] ^= t;
  if (last) v[14] = ~v[14];
  auto g = [&](int a, int b, int c, int d, uint64_t x, uint64_t y) {
    v[a] = v[a] + v[b] + x;
    v[d] = rotr(v[d] ^ v[a], 32);
    v[c] = v[c] + v[d];
    v[b] = rotr(v[b] ^ v[c], 24);
    v[a] = v[a] + v[b] + y;
    v[d] = rotr(v[d] ^ v[a], 16);
    v[c] = v[c] + v[d];
    v[b] = rotr(v[b] ^ v[c], 63);
  };
  // Unrolled: the message words each round takes become constant indexes (kept in registers).
#pragma GCC unroll 12
  for (const auto& s : kSigma) {
    g(0, 4, 8, 12, m[s[0]], m[s[1]]);
    g(1, 5, 9, 13, m[s[2]], m[s[3]]);
    g(2, 6, 10, 14, m[s[4]], m[s[5]]);
    g(3, 7, 11, 15, m[s[6]], m[s[7]]);
    g(0, 5, 10, 15, m[s[8]], m[s[9]]);
    g(1, 6, 11, 12, m[s[10]], m[s[11]]);
    g(2, 7, 8, 13, m[s[12]], m[s[13]]);
    g(3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
  for (int i = 0; i < 8; ++i) h[i] ^= v[i] ^ v[i + 8];
}

}  // namespace

Hash blake2b256(std::span<const uint8_t> data) {
  static_assert(std::endian::native == std::endian::little);
  uint64_t h[8];
  std::memcpy(h, kIv, sizeof h);
  h[0] ^= 0x01010000ULL ^ 32;  // parameter block: digest length 32, no key, fanout 1, depth 1
  size_t n = data.size(), off = 0;
  while (n - off > 128) {
    compress(h, data.data() + off, off + 128, false);
    off += 128;
  }
  uint8_t last[128] = {};
  if (n > off) std::memcpy(last, data.data() + off, n - off);
  compress(h, last, n, true);
  Hash out;
  std::memcpy(out.data(), h, out.size());
  return out;
}

Blake2b::Blake2b() { crypto_generichash_init(reinterpret_cast<crypto_generichash_state*>(state_), nullptr, 0, 32); }
void Blake2b::update(std::span<const uint8_t> data) {
  crypto_generichash_update(reinterpret_cast<crypto_generichash_state*>(state_), data.data(), data.size());
}
void Blake2b::field(uint64_t v) {
  uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(v >> (8 * i));
  update(le);
}
void Blake2b::field(std::string_view s) {
  field(static_cast<uint64_t>(s.size()));
  update(s);
}
Hash Blake2b::finish() {
  Hash out;
  crypto_generichash_final(reinterpret_cast<crypto_generichash_state*>(state_), out.data(), out.size());
  return out;
}

}  // namespace tiffin
