// Compression alone, on the chunks pack makes of a tree: tiffin's snappy encoder (rfs's output)
// against libsnappy's RawCompress. Reads every regular file under the directory given (the pack
// benchmark's Debian tree: bench/flist_pack_bench.py makes it), cuts it into 512 KiB chunks as
// pack does, and compresses all of them --runs times with each encoder on one thread, printing
// the median MiB/s, the output sizes and how many chunks the two encode differently (each of
// those is a block whose id differs from rfs's when packed with libsnappy).
//
//   build/bench/snappy_bench /var/tmp/tiffin-bench/debian-a [--runs 7]
#include <snappy.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "common/text.hpp"
#include "store/block_codec.hpp"
#include "store/snappy_encoder.hpp"

using namespace tiffin;

namespace {

template <class F>
double median_seconds(int runs, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [--runs N]\n", argv[0]);
    return 2;
  }
  int runs = 7;
  if (argc == 4 && std::strcmp(argv[2], "--runs") == 0) {
    auto n = parse_uint<unsigned>(argv[3]);
    if (!n || *n == 0 || *n > 1000) {
      std::fprintf(stderr, "--runs takes a number from 1 to 1000\n");
      return 2;
    }
    runs = static_cast<int>(*n);
  }
  std::vector<Bytes> chunks;
  size_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(argv[1])) {
    if (!e.is_regular_file() || e.is_symlink()) continue;
    auto content = read_file(e.path().string());
    if (!content) continue;
    for (size_t off = 0; off < content->size(); off += kBlockSize) {
      size_t n = std::min(kBlockSize, content->size() - off);
      chunks.emplace_back(content->begin() + static_cast<ptrdiff_t>(off), content->begin() + static_cast<ptrdiff_t>(off + n));
      total += n;
    }
  }
  Bytes out(snappy_max_compressed_length(kBlockSize));
  size_t ours_bytes = 0, lib_bytes = 0, differ = 0;
  for (const Bytes& c : chunks) {
    size_t n = snappy_compress(c, out.data());
    Bytes mine(out.begin(), out.begin() + static_cast<ptrdiff_t>(n));
    size_t len = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(c.data()), c.size(), reinterpret_cast<char*>(out.data()), &len);
    ours_bytes += n;
    lib_bytes += len;
    differ += mine != Bytes(out.begin(), out.begin() + static_cast<ptrdiff_t>(len));
  }
  double ours = median_seconds(runs, [&] {
    for (const Bytes& c : chunks) (void)snappy_compress(c, out.data());
  });
  double lib = median_seconds(runs, [&] {
    size_t len;
    for (const Bytes& c : chunks)
      snappy::RawCompress(reinterpret_cast<const char*>(c.data()), c.size(), reinterpret_cast<char*>(out.data()), &len);
  });
  double mib = static_cast<double>(total) / (1 << 20);
  std::printf("%zu chunks, %.1f MiB, median of %d runs, one thread\n", chunks.size(), mib, runs);
  std::printf("  %-22s %8.0f MiB/s  output %.1f MiB\n", "tiffin (snap's output)", mib / ours, static_cast<double>(ours_bytes) / (1 << 20));
  std::printf("  %-22s %8.0f MiB/s  output %.1f MiB\n", "libsnappy", mib / lib, static_cast<double>(lib_bytes) / (1 << 20));
  std::printf("  chunks encoded differently: %zu of %zu\n", differ, chunks.size());
  return 0;
}
