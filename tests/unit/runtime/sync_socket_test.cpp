// Errors that cross from a runtime's child to the runtime: over a real SOCK_SEQPACKET pair with a
// forked child, the parent gets the very Error the child had (kind, errno, message with newlines
// and backslashes); and the kinds a program lookup reports, which that path carries to the CLI.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/process_setup.hpp"
#include "runtime/sync_socket.hpp"
#include "test_support.hpp"

namespace tiffin::runtime {
namespace {

// Forks a child that runs `body` with its end of a fresh pair; returns the parent's end.
template <class Fn>
std::pair<UniqueFd, pid_t> fork_child(Fn body) {
  auto pair = make_sync_pair();
  EXPECT_TRUE(pair);
  pid_t pid = ::fork();
  if (pid == 0) {
    pair->parent.reset();
    body(pair->child.get());
    ::_exit(0);
  }
  return {std::move(pair->parent), pid};
}

int exit_status(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SyncSocket, AChildsErrorArrivesWithItsKindAndErrno) {
  const Error sent{Errc::program_not_found, ENOENT, "exec: \"nope\": executable file not found in $PATH\nline 2 \\ end"};
  auto [fd, pid] = fork_child([&](int child) { child_fail(child, sent); });
  auto got = sync_receive_step(fd.get());
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(), sent);
  EXPECT_EQ(exit_status(pid), 1);
}

TEST(SyncSocket, EveryKindSurvivesTheTrip) {
  for (Errc kind : {Errc::io, Errc::invalid_input, Errc::not_found, Errc::conflict, Errc::denied, Errc::unsupported, Errc::internal,
           Errc::program_not_found, Errc::program_not_executable}) {
    const Error sent{kind, kind == Errc::not_found ? ENOENT : 0, std::string("mount /data: source /nope: ") + errc_name(kind)};
    auto [fd, pid] = fork_child([&](int child) { child_fail(child, sent); });
    auto got = sync_receive_step(fd.get());
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error(), sent) << errc_name(kind);
    EXPECT_EQ(exit_status(pid), 1);
  }
}

TEST(SyncSocket, StepsPassAndEndOfFileIsEmpty) {
  auto [fd, pid] = fork_child([](int child) { (void)sync_send(child, "ready"); });
  EXPECT_EQ(sync_receive_step(fd.get()).value_or("?"), "ready");
  EXPECT_EQ(sync_receive_step(fd.get()).value_or("?"), "");  // the child is gone
  EXPECT_EQ(exit_status(pid), 0);
}

TEST(SyncSocket, AGarbledErrorIsInternalAndQuoted) {
  auto [fd, pid] = fork_child([](int child) { (void)sync_send(child, "error bogus-kind:1:x"); });
  auto got = sync_receive_step(fd.get());
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().kind, Errc::internal);
  EXPECT_NE(got.error().what().find("bogus-kind:1:x"), std::string::npos);
  EXPECT_EQ(exit_status(pid), 0);
}

TEST(SyncSocket, PendingChildErrorIsFoundAfterTheChildDied) {
  const Error sent{Errc::not_found, ENOENT, "mount /data: source /bundle/nope: No such file or directory"};
  auto [fd, pid] = fork_child([&](int child) { child_fail(child, sent); });
  EXPECT_EQ(exit_status(pid), 1);
  auto e = pending_child_error(fd.get());
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, sent);
  EXPECT_FALSE(pending_child_error(fd.get()));  // consumed, and nothing blocks
}

TEST(FindExecutable, MissingAndUnrunnableProgramsHaveKindsOfTheirOwn) {
  test::TempDir dir;
  test::write_text(dir / "plain", "not a program");
  ::chmod((dir / "plain").c_str(), 0644);
  auto missing = find_executable(dir / "nope", {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Errc::program_not_found);
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
  auto not_exec = find_executable(dir / "plain", {});
  ASSERT_FALSE(not_exec);
  EXPECT_EQ(not_exec.error().kind, Errc::program_not_executable);
  EXPECT_EQ(not_exec.error().sys_errno, EACCES);
  auto a_dir = find_executable(dir.path(), {});
  ASSERT_FALSE(a_dir);
  EXPECT_EQ(a_dir.error().kind, Errc::program_not_executable);
  EXPECT_EQ(a_dir.error().sys_errno, EISDIR);
  auto not_in_path = find_executable("no-such-program-anywhere", {"PATH=" + dir.path()});
  ASSERT_FALSE(not_in_path);
  EXPECT_EQ(not_in_path.error().kind, Errc::program_not_found);
  EXPECT_NE(not_in_path.error().what().find("executable file not found in $PATH"), std::string::npos);
  EXPECT_EQ(find_executable("sh", {"PATH=/bin"}).value_or(""), "/bin/sh");
}

}  // namespace

// A child gone without a word is described by how it ended; one that stays silent is killed.
TEST(SyncSocket, SilentDeathSaysHowTheChildEnded) {
  pid_t killed = ::fork();
  if (killed == 0) {
    ::raise(SIGTERM);
    ::_exit(0);
  }
  EXPECT_EQ(
      silent_death(killed, "the init").message, "the init was killed by signal 15 (Terminated) during setup, without reporting an error");
  pid_t exited = ::fork();
  if (exited == 0) ::_exit(3);
  EXPECT_EQ(silent_death(exited, "the init").message, "the init exited with status 3 during setup, without reporting an error");
  pid_t silent = ::fork();
  if (silent == 0) {
    ::pause();
    ::_exit(0);
  }
  EXPECT_EQ(silent_death(silent, "the init").message, "the init stopped answering during setup and was killed");
  EXPECT_NE(::kill(silent, 0), 0);  // reaped: no such process
}

}  // namespace tiffin::runtime
