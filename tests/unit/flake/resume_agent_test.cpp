#include "flake/resume_agent.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/fd.hpp"

namespace tiffin::flake {
namespace {

TEST(ResumeAgent, MessagesRoundTrip) {
  AgentRequest r{{"/bin/sh", "-c", "echo 'a b'"}, {"TERM=xterm", "HOME=/home/x"}, "/home/x", "1000:100"};
  auto back = decode_request(encode_request(r));
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(*back, r);
  AgentRequest empty;
  EXPECT_EQ(*decode_request(encode_request(empty)), empty);
  for (const AgentOutcome& o : {AgentOutcome{AgentOutcome::Kind::exited, 42, ""}, AgentOutcome{AgentOutcome::Kind::signaled, 2, ""},
           AgentOutcome{AgentOutcome::Kind::not_started, 127, "x: No such file or directory"}}) {
    auto ob = decode_outcome(encode_outcome(o));
    ASSERT_TRUE(ob);
    EXPECT_EQ(*ob, o);
  }
  EXPECT_EQ((AgentOutcome{AgentOutcome::Kind::signaled, 2, ""}.exit_code()), 130);
}

TEST(ResumeAgent, MalformedMessagesAreRefused) {
  std::string good = encode_request({{"a"}, {"B=c"}, "/", "u"});
  for (size_t cut = 0; cut < good.size(); ++cut) {
    auto r = decode_request(good.substr(0, cut));
    ASSERT_FALSE(r) << cut;
    EXPECT_EQ(r.error().kind, Errc::corrupt);
  }
  EXPECT_FALSE(decode_request(good + "x"));
  EXPECT_FALSE(decode_request(std::string("\xff\xff\xff\xff", 4)));      // a count far past the body
  EXPECT_FALSE(decode_outcome(std::string("\x07\0\0\0\0\0\0\0\0", 9)));  // an unknown kind
  EXPECT_FALSE(decode_outcome(""));
}

// The agent in a child process, called from another child whose stdio are our pipes.
class LiveAgent : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("agent-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    socket_ = (dir_ / "agent.sock").string();
    agent_ = ::fork();
    if (agent_ == 0) ::_exit(run_agent(socket_) ? 0 : 1);
    for (int i = 0; i < 400 && !std::filesystem::exists(socket_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  void TearDown() override {
    ::kill(agent_, SIGTERM);
    int status = 0;
    ::waitpid(agent_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    std::filesystem::remove_all(dir_);
  }

  struct Run {
    int code = -1;
    std::string out, err;
  };
  // A caller with stdin `input`; `signal_after_ms` > 0: SIGINT to the caller then.
  Run call(const AgentRequest& r, const std::string& input, int signal_after_ms = 0) {
    int in[2], out[2], err[2];
    EXPECT_EQ(::pipe(in), 0);
    EXPECT_EQ(::pipe(out), 0);
    EXPECT_EQ(::pipe(err), 0);
    pid_t caller = ::fork();
    if (caller == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) ::close(fd);
      auto o = call_agent(socket_, r);
      ::_exit(o ? o->exit_code() : 200);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    (void)write_all(in[1], {reinterpret_cast<const uint8_t*>(input.data()), input.size()});
    ::close(in[1]);
    if (signal_after_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(signal_after_ms));
      ::kill(caller, SIGINT);
    }
    Run run;
    auto drain = [](int fd) {
      std::string s;
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, size_t(n));
      ::close(fd);
      return s;
    };
    run.out = drain(out[0]);
    run.err = drain(err[0]);
    int status = 0;
    ::waitpid(caller, &status, 0);
    run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
  }

  std::filesystem::path dir_;
  std::string socket_;
  pid_t agent_ = -1;
};

TEST_F(LiveAgent, RunsTheAppWithTheCallersStdioArgumentsAndExitCode) {
  auto run = call(
      {{"/bin/sh", "-c", "cat; echo \"$1|$FLAKE_VAR|$(pwd)\"; echo oops >&2; exit 42", "sh", "a 'b' \"c\""}, {"FLAKE_VAR=set"}, "/tmp"},
      "piped in\n");
  EXPECT_EQ(run.code, 42);
  EXPECT_EQ(run.out, "piped in\na 'b' \"c\"|set|/tmp\n");
  EXPECT_EQ(run.err, "oops\n");
}

TEST_F(LiveAgent, AMissingProgramIs127AndTheCallersSignalReachesTheApp) {
  EXPECT_EQ(call({{"/nonexistent/app"}, {}, "/"}, "").code, 127);
  auto run = call({{"/bin/sh", "-c", "trap 'echo interrupted; exit 5' INT; echo ready; while :; do sleep 0.05; done"}, {}, "/"}, "", 300);
  EXPECT_EQ(run.out, "ready\ninterrupted\n");
  EXPECT_EQ(run.code, 5);
  // Several calls at once are served side by side.
  std::vector<std::thread> calls;
  std::vector<int> codes(4, -1);
  for (int i = 0; i < 4; ++i)
    calls.emplace_back([&, i] { codes[size_t(i)] = call({{"/bin/sh", "-c", "sleep 0.2; exit " + std::to_string(i)}, {}, "/"}, "").code; });
  for (auto& t : calls) t.join();
  EXPECT_EQ(codes, (std::vector<int>{0, 1, 2, 3}));
}

TEST_F(LiveAgent, AppsStartAsTheUserWithSigpipeAsUsual) {
  // An app that writes into a closed pipe dies quietly, as it would in a shell (the agent itself
  // ignores SIGPIPE).
  auto piped = call({{"/bin/sh", "-c", "yes | head -n 1"}, {}, "/"}, "");
  EXPECT_EQ(piped.out, "y\n");
  EXPECT_EQ(piped.err, "");
  if (::geteuid() != 0) GTEST_SKIP() << "changing users needs root";
  auto as_nobody = call({{"/bin/sh", "-c", "id -u; id -g"}, {}, "/", "65534:65533"}, "");
  EXPECT_EQ(as_nobody.code, 0) << as_nobody.err;
  EXPECT_EQ(as_nobody.out, "65534\n65533\n");
  auto unknown = call({{"/bin/true"}, {}, "/", "no-such-user"}, "");
  EXPECT_EQ(unknown.code, 125);
}

TEST(ResumeAgentCaller, NoAgentIsUnavailable) {
  auto o = call_agent("/nonexistent/agent.sock", {{"x"}, {}, "/"});
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().kind, Errc::unavailable);
}

}  // namespace
}  // namespace tiffin::flake
