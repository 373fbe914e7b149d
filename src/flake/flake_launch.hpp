// What a flake's call becomes (pure: unit-tested; tiffin-pilot carries it out). A call without
// resume or attach is one `tiffin run --rm` of the flake's image with the caller's arguments; a
// resume flake keeps one container whose pid 1 is tiffin-pilot's agent (flake/resume_agent.hpp)
// and runs each call through it; an attach flake keeps one container running the app and
// attaches to it while it runs.
#pragma once

#include <string>
#include <vector>

#include "flake/flake_config.hpp"

namespace tiffin::flake {

// The caller as the pilot found it.
struct Caller {
  std::vector<std::string> args;  // after argv[0], pilot words (@NAME, %option) removed
  std::string instance;           // from @NAME: another resume/attach container of the same flake
  std::string cwd, home;
  bool stdin_tty = false, stdout_tty = false;
};

// flake-pilot's caller words: "@NAME" picks an instance, "%…" options are the pilot's (%silent
// and the like: accepted, nothing to do); the rest are the app's, in order.
Caller split_pilot_words(const std::vector<std::string>& argv_after_0);

// The caller's directory is bound at its own path inside, unless that would hide the image's
// system directories ("/", /usr/…, /etc/…, /proc …): then the app starts in "/".
bool binds_cwd(const std::string& cwd);

// The container of a resume or attach flake: "flake-NAME-HASH", NAME with what a container
// name cannot hold as '_', HASH of the flake's name and instance, so that no two flakes and
// instances share one ("foo" @bar is not "foo-bar"). Labelled kFlakeLabel=NAME for remove.
std::string flake_container_name(const std::string& name, const std::string& instance);
inline constexpr const char* kFlakeLabel = "org.tiffin.flake";

// `tiffin` global flags for the node the flake was registered on.
std::vector<std::string> engine_flags(const FlakeConfig& c);

// The run flags every container of the flake gets: the caller's directory and home, the user,
// the registered run options (less those the pilot decides itself: -i, -t, -d, --rm, --name,
// --entrypoint), and the host's network unless an option names another.
std::vector<std::string> common_run_flags(const FlakeConfig& c, const Caller& call, bool with_user = true);

// `tiffin run --rm -i [-t] --init … --entrypoint TARGET IMAGE ARGS…`: a flake without resume/attach,
// or an attach flake's first call (then with --name, without --rm). args[0] is the tiffin binary.
std::vector<std::string> run_argv(const std::string& tiffin, const FlakeConfig& c, const Caller& call, const std::string& name = {});

// `create --rm -i [-t] …` (the words after tiffin's global flags) for a flake with includes: the
// pilot copies them in, then starts it.
std::vector<std::string> create_words(const FlakeConfig& c, const Caller& call);

// `run -d --name N … --entrypoint /.tiffin/tiffin-pilot IMAGE agent`: a resume flake's container,
// its agent listening in `agent_dir` (bound at /.tiffin/agent). The agent runs as root (its
// socket's directory is root's); the user applies to each app it starts (AgentRequest::user).
std::vector<std::string> resume_container_words(
    const std::string& pilot, const std::string& agent_dir, const FlakeConfig& c, const Caller& call, const std::string& name);

}  // namespace tiffin::flake
