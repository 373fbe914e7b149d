// A resume flake's container runs tiffin-pilot's agent as its pid 1; each later call of the flake
// hands it the app's command line and the caller's own stdin, stdout and stderr (SCM_RIGHTS) over
// a unix socket the pilot binds into the container. The agent forks the app, which inherits
// everything the container's processes have (namespaces, cgroups, capabilities, seccomp,
// no_new_privs, user) without any of them being set up again: a call costs a connect and a
// fork, about what running the program natively does. The app writes straight to the caller's
// terminal or pipes; the caller forwards the signals it receives (Ctrl-C, SIGWINCH) and gets the
// app's wait status back.
//
// The socket's directory is the host's <run-root>/flakes/<container>/ (0700, root's): only root
// reaches the agent, as only root reaches the engine.
//
// Wire (one connection per call): request = u32 length + the packed Request, with the three
// descriptors; then caller → agent: u32 signal numbers; agent → caller: the Outcome, once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin::flake {

struct AgentRequest {
  std::vector<std::string> argv;  // argv[0]: the program (searched in the container's PATH)
  std::vector<std::string> env;   // KEY=value over the container's environment
  std::string cwd;                // where the app starts, if it exists inside; else the agent's own
  std::string user;               // run's --user (name|uid[:group|gid]) in the container; "": the agent's (root)
  bool operator==(const AgentRequest&) const = default;
};

struct AgentOutcome {
  enum class Kind : uint32_t { exited = 0, signaled = 1, not_started = 2 } kind = Kind::exited;
  int32_t value = 0;    // exit code, signal, or 126/127
  std::string message;  // not_started: why
  bool operator==(const AgentOutcome&) const = default;
  // The shell's convention: the code, 128 + the signal, or 126/127.
  int exit_code() const { return kind == Kind::signaled ? 128 + value : value; }
};

// Codecs (pure). Decoders refuse anything malformed or over kMaxRequest with Errc::corrupt.
inline constexpr size_t kMaxRequest = 4 << 20;
std::string encode_request(const AgentRequest& r);
Result<AgentRequest> decode_request(std::string_view body);
std::string encode_outcome(const AgentOutcome& o);
Result<AgentOutcome> decode_outcome(std::string_view body);

// The agent: listens on `socket_path` and serves calls until SIGTERM (then the apps get SIGTERM
// and a few seconds to end: the agent's exit kills what is left of the container) or an error.
// As pid 1 it also reaps every orphan in the container.
Result<void> run_agent(const std::string& socket_path);

// The caller's side: sends `r` with our fds 0, 1, 2 and relays our signals until the app ends.
// Errc::unavailable when no agent listens on `socket_path` (nothing was sent: the caller may
// start one and call again); an agent that goes away mid-call is Errc::internal (the app may
// have run: never call again). The socket is connected through an O_PATH|O_NOFOLLOW descriptor:
// the container may replace it, but not with a link to another socket of the host's.
Result<AgentOutcome> call_agent(const std::string& socket_path, const AgentRequest& r);
// Whether an agent accepts connections on `socket_path` (connects and hangs up).
bool agent_listening(const std::string& socket_path);

}  // namespace tiffin::flake
