#include "dns/resolver_control.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace tiffin::dns {
namespace {

TEST(ResolverControl, LockTellsLiveFromDead) {
  char tmpl[] = "/tmp/tiffin-dns-lock-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  EXPECT_FALSE(resolver_alive(dir));  // no file at all
  {
    auto lock = take_resolver_lock(dir);
    ASSERT_TRUE(lock) << lock.error().message;
    EXPECT_TRUE(resolver_alive(dir));
    // A second taker (another open file description) is refused while the first lives.
    auto second = take_resolver_lock(dir);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().kind, Errc::conflict);
  }
  // Closed (as when the process dies, even by kill -9): the file stays, the lock is gone.
  EXPECT_TRUE(std::filesystem::exists(resolver_lock_path(dir)));
  EXPECT_FALSE(resolver_alive(dir));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tiffin::dns

namespace tiffin::dns {
namespace {

TEST(ResolverControl, NetworkFilesWrittenAsTheResolverReadsThem) {
  char tmpl[] = "/tmp/tiffin-dns-files-XXXXXX";
  std::string root = ::mkdtemp(tmpl);
  std::string dir = root + "/dns";  // made on demand
  NetworkFile f;
  f.network = "front-1";
  f.listen = {*parse_endpoint("10.89.0.1"), *parse_endpoint("[fd00::1]:5300")};
  f.upstreams = {*parse_endpoint("127.0.0.1:5353")};
  f.search = "tiffin";
  f.records = {{"web", *net::IpAddress::parse("10.89.0.2")}, {"web", *net::IpAddress::parse("fd00::2")}};
  ASSERT_TRUE(write_network_file(dir, f));
  auto text = read_file(dir + "/front-1.conf");
  ASSERT_TRUE(text);
  auto back = parse_network_file("front-1", std::string(text->begin(), text->end()), "front-1.conf");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, f);
  // What the resolver would refuse is refused here, and nothing is written.
  NetworkFile bad = f;
  bad.network = "other";
  bad.records.push_back({"not a name", *net::IpAddress::parse("10.89.0.3")});
  EXPECT_EQ(write_network_file(dir, bad).error().kind, Errc::invalid_input);
  EXPECT_FALSE(std::filesystem::exists(dir + "/other.conf"));
  bad.network = "../escape";
  EXPECT_EQ(write_network_file(dir, bad).error().kind, Errc::invalid_input);
  ASSERT_TRUE(remove_network_file(dir, "front-1"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/front-1.conf"));
  EXPECT_TRUE(remove_network_file(dir, "front-1"));  // already gone: fine
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace tiffin::dns
