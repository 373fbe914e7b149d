#include "common/env_memfd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

namespace tiffin {
namespace {

TEST(EnvMemfd, RoundTripsAndIsSealed) {
  auto fd = make_env_memfd({"A=1", "SECRET=p@ss=word with spaces", "EMPTY="});
  ASSERT_TRUE(fd) << fd.error().message;
  auto back = read_env_memfd(fd->get());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, (std::vector<std::string>{"A=1", "SECRET=p@ss=word with spaces", "EMPTY="}));
  // Read twice (each start of a restarted container reads it again): pread leaves the offset.
  EXPECT_EQ(*read_env_memfd(fd->get()), *back);
  // Nobody who holds it can change it.
  EXPECT_LT(::write(fd->get(), "X=2", 4), 0);
  EXPECT_LT(::ftruncate(fd->get(), 0), 0);
  EXPECT_EQ(::fcntl(fd->get(), F_GET_SEALS) & F_SEAL_WRITE, F_SEAL_WRITE);
}

TEST(EnvMemfd, RefusesEntriesThatAreNotKeyValue) {
  EXPECT_EQ(make_env_memfd({"NOEQUALS"}).error().kind, Errc::invalid_input);
  EXPECT_EQ(make_env_memfd({"=value"}).error().kind, Errc::invalid_input);
  EXPECT_EQ(make_env_memfd({std::string("A=x\0y", 5)}).error().kind, Errc::invalid_input);
  EXPECT_EQ(make_env_memfd({"BIG=" + std::string(kMaxEnvMemfdBytes, 'x')}).error().kind, Errc::invalid_input);
  auto empty = make_env_memfd({});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(read_env_memfd(empty->get())->empty());
}

TEST(EnvMemfd, ReadRefusesAnUnterminatedOrMalformedBlob) {
  int fd = ::memfd_create("t", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "A=1\0B", 5), 5);
  EXPECT_EQ(read_env_memfd(fd).error().kind, Errc::invalid_input);
  ASSERT_EQ(::ftruncate(fd, 0), 0);
  ASSERT_EQ(::pwrite(fd, "nokey\0", 6, 0), 6);
  EXPECT_EQ(read_env_memfd(fd).error().kind, Errc::invalid_input);
  ::close(fd);
}

TEST(EnvMemfd, MergeReplacesByKeyAndAppendsNewOnes) {
  std::vector<std::string> env = {"PATH=/bin", "A=old", "AB=keep"};
  merge_env(env, {"A=new", "C=3"});
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/bin", "A=new", "AB=keep", "C=3"}));
}

}  // namespace
}  // namespace tiffin
