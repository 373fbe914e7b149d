// Against a real redis-server on a loopback port (0-db speaks the same protocol).
#include <gtest/gtest.h>

#include <chrono>

#include "store/block_codec.hpp"
#include "store/router.hpp"
#include "store/zdb_store.hpp"
#include "test_support.hpp"

using namespace tiffin;

namespace {

test::Process start_redis(uint16_t port, const std::string& dir, const std::string& password) {
  std::vector<std::string> argv{
      "redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir};
  if (!password.empty()) {
    argv.push_back("--requirepass");
    argv.push_back(password);
  }
  auto p = test::Process::spawn(argv);
  EXPECT_TRUE(test::wait_for_port(port)) << "redis-server did not start";
  return p;
}

}  // namespace

TEST(ZdbStore, PutGetExistsWithPassword) {
  test::TempDir dir;
  uint16_t port = test::free_port();
  auto redis = start_redis(port, dir.path(), "pw");
  auto store = open_store("zdb://:pw@127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->url(), "zdb://127.0.0.1:" + std::to_string(port));  // password stripped
  EncodedBlock b = encode_block(test::random_bytes(100000, 3));
  EXPECT_FALSE(*(*store)->has(b.id));
  ASSERT_TRUE((*store)->put(b.id, b.sealed));
  EXPECT_TRUE(*(*store)->has(b.id));
  auto got = (*store)->get(b.id);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, b.sealed);
  Hash missing{};
  auto r = (*store)->get(missing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::not_found);
}

TEST(ZdbStore, WrongPasswordIsAnError) {
  test::TempDir dir;
  uint16_t port = test::free_port();
  auto redis = start_redis(port, dir.path(), "pw");
  auto store = open_store("zdb://:nope@127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(store);
  EXPECT_FALSE((*store)->has(Hash{}));
}

TEST(ZdbStore, NumericNamespaceSelectsDatabase) {
  test::TempDir dir;
  uint16_t port = test::free_port();
  auto redis = start_redis(port, dir.path(), "");
  auto ns1 = open_store("zdb://127.0.0.1:" + std::to_string(port) + "/1");
  auto ns2 = open_store("zdb://127.0.0.1:" + std::to_string(port) + "/2");
  EncodedBlock b = encode_block(test::random_bytes(10, 4));
  ASSERT_TRUE((*ns1)->put(b.id, b.sealed));
  EXPECT_TRUE(*(*ns1)->has(b.id));
  EXPECT_FALSE(*(*ns2)->has(b.id));
}

TEST(ZdbStore, FailsFastWhenDownAndRecoversWhenBack) {
  test::TempDir dir;
  uint16_t port = test::free_port();
  auto redis = start_redis(port, dir.path(), "");
  ZdbStore store(*parse_store_url("zdb://127.0.0.1:" + std::to_string(port)), ZdbOptions{std::chrono::milliseconds(500)});
  EncodedBlock b = encode_block(test::random_bytes(10, 5));
  ASSERT_TRUE(store.put(b.id, b.sealed));

  redis.stop();
  auto start = std::chrono::steady_clock::now();
  auto r = store.get(b.id);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));

  auto again = start_redis(port, dir.path(), "");
  ASSERT_TRUE(store.put(b.id, b.sealed)) << "the store reconnects on its own";
  EXPECT_TRUE(*store.has(b.id));
}
