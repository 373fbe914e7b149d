// Against a real HTTP server (Python's http.server) on a loopback port serving a dir store.
#include <gtest/gtest.h>

#include <chrono>

#include "store/block_codec.hpp"
#include "store/dir_store.hpp"
#include "store/http_store.hpp"
#include "test_support.hpp"

using namespace tiffin;

namespace {
test::Process serve(const std::string& dir, uint16_t port) {
  auto p = test::Process::spawn({"/usr/bin/python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1", "--directory", dir});
  EXPECT_TRUE(test::wait_for_port(port)) << "http.server did not start";
  return p;
}
HttpOptions quick() {
  HttpOptions o;
  o.connect_timeout = std::chrono::milliseconds(300);
  o.request_timeout = std::chrono::milliseconds(1000);
  o.attempts = 2;
  o.backoff = std::chrono::milliseconds(10);
  return o;
}
}  // namespace

TEST(HttpStore, ReadsTheRfsLayoutAndReusesConnections) {
  test::TempDir dir;
  auto local = *DirStore::open(dir.path(), false);
  std::vector<EncodedBlock> blocks;
  for (uint32_t i = 0; i < 5; ++i) {
    blocks.push_back(encode_block(test::random_bytes(20000 + i, i)));
    ASSERT_TRUE(local->put(blocks.back().id, blocks.back().sealed));
  }
  uint16_t port = test::free_port();
  auto server = serve(dir.path(), port);
  HttpStore store("http://127.0.0.1:" + std::to_string(port), "http://127.0.0.1:" + std::to_string(port), quick());
  for (const auto& b : blocks) {
    auto got = store.get(b.id);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(*got, b.sealed);
    EXPECT_TRUE(*store.has(b.id));
  }
  auto missing = store.get(Hash{});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Errc::not_found);
  EXPECT_FALSE(*store.has(Hash{}));
  EXPECT_FALSE(store.put(blocks[0].id, blocks[0].sealed)) << "http stores are read-only";
}

TEST(HttpStore, DeadServerFailsFastAsUnavailable) {
  uint16_t port = test::free_port();  // nothing listens there
  HttpStore store("http://127.0.0.1:" + std::to_string(port), "", quick());
  auto start = std::chrono::steady_clock::now();
  auto r = store.get(Hash{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}
