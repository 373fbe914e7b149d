// The encoder emits what the Rust snap crate emits: compared, byte for byte, with a second and
// plain transcription of the crate's algorithm (snap_reference.cpp) over thousands of generated
// inputs, and decoded back by libsnappy. rfs's own blocks are checked in flist/fixtures_test.cpp.
#include <gtest/gtest.h>
#include <snappy.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "common/hash.hpp"
#include "store/snap_reference.hpp"
#include "store/snappy_encoder.hpp"

using namespace tiffin;

namespace {

constexpr size_t kFragment = 64 * 1024;
constexpr size_t kMaxInput = 512 * 1024;

enum class Kind { random, text, repetitive, binary, mixed };
constexpr Kind kKinds[] = {Kind::random, Kind::text, Kind::repetitive, Kind::binary, Kind::mixed};

// Inputs of the kinds an image holds: incompressible data, configuration-like text, runs and
// short periods, executables (small integers, zero runs, repeated strings), and text with binary
// spans, which makes literals of every length.
Bytes generate(Kind kind, size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out;
  out.reserve(n + 64);
  static const char* const kWords[] = {"alpine", "root", "x", ":", "/bin/sh", "\n", " ", "=", "export", "PATH", "/usr/local/bin",
      "# comment", "nologin", "0", "1000", "\t", "options", "modeset", "true", "{", "}", "\"", "127.0.0.1", "localhost"};
  auto word = [&] { return std::string(kWords[rng() % std::size(kWords)]); };
  switch (kind) {
    case Kind::random:
      while (out.size() < n) out.push_back(static_cast<uint8_t>(rng()));
      break;
    case Kind::text:
      while (out.size() < n) {
        std::string w = word();
        out.insert(out.end(), w.begin(), w.end());
      }
      break;
    case Kind::repetitive: {
      size_t period = 1 + rng() % (rng() % 2 ? 8 : 400);
      Bytes unit(period);
      for (auto& b : unit) b = static_cast<uint8_t>(rng());
      while (out.size() < n) {
        out.insert(out.end(), unit.begin(), unit.end());
        if (rng() % 50 == 0) out.push_back(static_cast<uint8_t>(rng()));  // an occasional break in the pattern
      }
      break;
    }
    case Kind::binary:
      while (out.size() < n) {
        switch (rng() % 4) {
          case 0: out.insert(out.end(), 1 + rng() % 64, 0); break;
          case 1:
            for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(rng() % 16));
            break;
          case 2: {
            std::string w = word();
            out.insert(out.end(), w.begin(), w.end());
            out.push_back(0);
            break;
          }
          default: out.push_back(static_cast<uint8_t>(rng()));
        }
      }
      break;
    case Kind::mixed:
      while (out.size() < n) {
        size_t span = 1 + rng() % 300;
        bool noise = rng() % 3 == 0;
        for (size_t i = 0; i < span; ++i) {
          if (noise) out.push_back(static_cast<uint8_t>(rng()));
          else {
            std::string w = word();
            out.insert(out.end(), w.begin(), w.end());
          }
        }
      }
      break;
  }
  out.resize(n);
  return out;
}

// Sizes: every size up to 300 (the literal-only and smallest-table cases), every size near each
// fragment boundary and near the smallest fragment that gets compressed (a file whose last
// fragment is tiny), table-size steps, and log-uniform random sizes up to 512 KiB.
std::vector<size_t> sizes() {
  std::vector<size_t> out;
  for (size_t n = 0; n <= 300; ++n) out.push_back(n);
  for (size_t k = 1; k <= kMaxInput / kFragment; ++k)
    for (size_t d = 0; d <= 40; ++d) {
      size_t n = k * kFragment + d - 20;
      if (n <= kMaxInput) out.push_back(n);
    }
  for (size_t t = 512; t <= 16384; t *= 2)
    for (size_t n : {t - 1, t, t + 1}) out.push_back(n);
  std::mt19937 rng(2024);
  std::uniform_real_distribution<double> exponent(4, 19);  // 16 B … 512 KiB
  for (int i = 0; i < 1500; ++i) out.push_back(std::min(kMaxInput, static_cast<size_t>(std::exp2(exponent(rng)))));
  return out;
}

}  // namespace

TEST(SnappyEncoder, EmitsExactlyWhatTheSnapCrateEmits) {
  size_t inputs = 0, bytes = 0;
  uint32_t seed = 1;
  for (size_t n : sizes()) {
    // Small inputs in every kind; large ones in one kind each, in turn, to bound the run time.
    bool small = n <= 20000;
    for (Kind kind : kKinds) {
      if (!small && kind != kKinds[seed % std::size(kKinds)]) continue;
      Bytes in = generate(kind, n, seed);
      std::vector<uint8_t> expected = test::snap_reference_compress(in);
      Bytes out(snappy_max_compressed_length(n));
      out.resize(snappy_compress(in, out.data()));
      ASSERT_EQ(out, expected) << "size " << n << ", kind " << static_cast<int>(kind) << ", seed " << seed;

      std::string back;
      ASSERT_TRUE(snappy::Uncompress(reinterpret_cast<const char*>(out.data()), out.size(), &back)) << "size " << n;
      ASSERT_EQ(Bytes(back.begin(), back.end()), in) << "size " << n;
      ++inputs;
      bytes += n;
    }
    ++seed;
  }
  EXPECT_GT(inputs, 3000u);
  std::printf("%zu inputs, %.1f MiB, identical to the reference\n", inputs, static_cast<double>(bytes) / (1 << 20));
}

// What the encoder must emit, worked out by hand from the crate's rules.
TEST(SnappyEncoder, KnownEncodings) {
  auto enc = [](std::string_view s) {
    Bytes in(s.begin(), s.end()), out(snappy_max_compressed_length(s.size()));
    out.resize(snappy_compress(in, out.data()));
    return out;
  };
  EXPECT_EQ(enc(""), (Bytes{0x00}));
  // Under 17 bytes: one literal, even when repetitive.
  EXPECT_EQ(enc("aaaaaaaaaaaaaaaa"), (Bytes{16, 15 << 2, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'}));
  // 17 × 'a': a literal of the byte at 0, then one copy of 16 at offset 1 to the end (a match may
  // not start in the last 15 bytes, but it may run into them), as a copy-2: 16 > 11.
  EXPECT_EQ(enc(std::string(17, 'a')), (Bytes{17, 0 << 2, 'a', (16 - 1) << 2 | 0b10, 0x01, 0x00}));
  // Copies longer than 64 are cut as 64s, then 60 when 65…67 remain, so the rest fits a copy-1.
  EXPECT_EQ(
      enc(std::string(1 + 131, 'b')), (Bytes{0x84, 0x01, 0 << 2, 'b', 63 << 2 | 0b10, 1, 0, 59 << 2 | 0b10, 1, 0, (7 - 4) << 2 | 0b01, 1}));
}
