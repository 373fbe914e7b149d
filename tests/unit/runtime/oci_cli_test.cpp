// tiffin-oci's command line where it needs no container: numbers typed by users are checked, and
// a failure reaches --error-fd as one encoded line with its kind.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "oci/oci_cli.hpp"
#include "runtime/container_state.hpp"
#include "test_support.hpp"

namespace tiffin::oci {
namespace {

struct Outcome {
  int exit_code;
  std::string error_line;  // what --error-fd got
};

// Runs tiffin-oci's main in this process with --error-fd on a pipe.
Outcome run(const test::TempDir& root, std::vector<std::string> args) {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  std::vector<std::string> all = {"tiffin-oci", "--root", root.path(), "--error-fd", std::to_string(p[1])};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  int rc = oci_main(static_cast<int>(argv.size()), argv.data());
  ::close(p[1]);
  std::string line;
  char buf[4096];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) line.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  return {rc, line};
}

TEST(OciCli, BadNumbersAreInvalidInputNotACrash) {
  test::TempDir root;
  for (const auto& [args, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"exec", "--user", "0:abc", "c1", "true"}, "--user 0:abc is not uid[:gid]"},
           {{"exec", "--user", "99999999999", "c1", "true"}, "--user 99999999999 is not uid[:gid]"},
           {{"exec", "--user", "-1", "c1", "true"}, "--user -1 is not uid[:gid]"},
           {{"exec", "--additional-gids", "5x", "c1", "true"}, "--additional-gids 5x is not a gid"},
           {{"kill", "c1", "9x"}, "invalid signal: 9x"}, {{"kill", "c1", "65"}, "invalid signal: 65"}}) {
    Outcome o = run(root, args);
    EXPECT_EQ(o.exit_code, 1) << says;
    EXPECT_TRUE(o.error_line.starts_with("invalid_input:0:" + says)) << o.error_line;
    EXPECT_TRUE(o.error_line.ends_with("\n"));
  }
  // Good numbers, and one value per repeated flag: as far as the container, which does not exist.
  Outcome o = run(root, {"exec", "--user", "1000:1000", "-g", "5", "-g", "6", "-e", "A=b", "--cap", "CAP_KILL", "c1", "true"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.error_line, "not_found:0:container c1 does not exist\n");
}

TEST(OciCli, AParseErrorReachesTheErrorFdToo) {
  test::TempDir root;
  Outcome o = run(root, {"create", "--no-such-flag", "c1"});
  EXPECT_NE(o.exit_code, 0);
  EXPECT_TRUE(o.error_line.starts_with("invalid_input:0:")) << o.error_line;
}

TEST(ProcessStartTime, ReadsTheNumberAfterTheCommand) {
  EXPECT_GT(runtime::process_start_time(::getpid()), 0u);
  EXPECT_EQ(runtime::process_start_time(0), 0u);
}

}  // namespace
}  // namespace tiffin::oci
