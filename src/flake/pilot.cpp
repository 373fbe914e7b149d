#include "flake/pilot.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/fd.hpp"
#include "common/subprocess.hpp"
#include "flake/flake_config.hpp"
#include "flake/flake_launch.hpp"
#include "flake/resume_agent.hpp"
#include "flake/tiffin_steps.hpp"
#include "flake/vm_flake.hpp"

namespace tiffin::flake {
namespace {

constexpr const char* kAgentSocket = "/.tiffin/agent/agent.sock";  // inside a resume flake's container

int report(const std::string& name, const Error& e) {
  std::fprintf(stderr, "tiffin-pilot: %s: %s\n", name.c_str(), e.what().c_str());
  if (e.kind == Errc::program_not_found || e.kind == Errc::program_not_executable) return start_failure_exit_code(e);
  if (e.kind == Errc::not_found) return 127;
  if (e.kind == Errc::invalid_input) return 2;
  return 125;
}

// execv, or an error: the app's own run takes over this process.
Error exec(const std::vector<std::string>& argv) {
  std::vector<char*> c;
  for (const auto& a : argv) c.push_back(const_cast<char*>(a.c_str()));
  c.push_back(nullptr);
  ::execv(c[0], c.data());
  return fail_errno("running " + argv[0]).error();
}

Caller caller_of(int argc, char** argv, int first) {
  std::vector<std::string> words(argv + first, argv + argc);
  Caller call = split_pilot_words(words);
  char cwd[4096];
  call.cwd = ::getcwd(cwd, sizeof cwd) ? cwd : "/";
  if (const char* home = std::getenv("HOME")) call.home = home;
  call.stdin_tty = ::isatty(0);
  call.stdout_tty = ::isatty(1);
  return call;
}

// A flake with includes: created, provisioned in its writable layer, then started attached.
Result<int> run_with_includes(const std::string& tiffin, const FlakeConfig& c, const Caller& call) {
  HeldSignals held;  // kept across the exec: pending ones reach the app through start's attach
  std::string id = TRY(tiffin_step(c, create_words(c, call), "creating the flake's container"));
  id = last_line(id);
  if (auto r = provision_includes(c, id); !r) {
    (void)tiffin_step(c, {"rm", "-f", id}, "removing the flake's container");
    return std::unexpected(r.error());
  }
  std::vector<std::string> start{tiffin};
  for (auto& f : engine_flags(c)) start.push_back(std::move(f));
  start.insert(start.end(), {"start", "-a", "-i", id});
  Error e = exec(start);
  (void)tiffin_step(c, {"rm", "-f", id}, "removing the flake's container");
  return std::unexpected(e);
}

// A resume flake: through the agent of its container, started on the first call.
Result<int> run_resumed(const std::string& name, const FlakeConfig& c, const Caller& call) {
  std::string container = flake_container_name(name, call.instance);
  std::string agent_dir = (c.run_root.empty() ? std::string("/run/tiffin") : c.run_root) + "/flakes/" + container;
  std::string socket = agent_dir + "/agent.sock";
  AgentRequest r;
  r.argv.push_back(c.target());
  r.argv.insert(r.argv.end(), call.args.begin(), call.args.end());
  if (const char* term = std::getenv("TERM"); term && call.stdin_tty) r.env.push_back(std::string("TERM=") + term);
  if (c.home && !call.home.empty()) r.env.push_back("HOME=" + call.home);
  r.cwd = call.cwd;
  r.user = c.user;
  auto outcome = call_agent(socket, r);
  if (!outcome && outcome.error().kind == Errc::unavailable) {
    // Unavailable: nothing was sent. One caller at a time (re)makes the container; the others
    // find its agent once they have the lock.
    std::error_code ec;
    std::filesystem::create_directories(agent_dir, ec);
    if (ec || ::chmod(agent_dir.c_str(), 0700) != 0) return fail_errno("making " + agent_dir);
    {
      UniqueFd lock = TRY(lock_file(agent_dir + ".lock"));
      if (!agent_listening(socket)) {
        // A container left stopped (a reboot, a killed agent) is made anew.
        (void)tiffin_step(c, {"rm", "-f", container}, "removing the flake's stopped container");
        TRY(tiffin_step(c, resume_container_words(self_executable(), agent_dir, c, call, container), "starting the flake's container"));
        for (int waited = 0; !agent_listening(socket); waited += 5) {
          if (waited > 10000)
            return fail(Errc::unavailable, "the flake's agent did not listen within 10 s (tiffin logs " + container + ")");
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    }
    outcome = call_agent(socket, r);
  }
  auto o = TRY(outcome);
  if (o.kind == AgentOutcome::Kind::not_started) std::fprintf(stderr, "tiffin-pilot: %s: %s\n", name.c_str(), o.message.c_str());
  return o.exit_code();
}

// An attach flake: one container running the app; later calls attach while it runs.
Result<int> run_attached(const std::string& tiffin, const std::string& name, const FlakeConfig& c, const Caller& call) {
  std::string container = flake_container_name(name, call.instance);
  std::vector<std::string> base{tiffin};
  for (auto& f : engine_flags(c)) base.push_back(f);
  auto inspect = base;
  inspect.insert(inspect.end(), {"inspect", "--format", "{{.State.Status}}", container});
  Captured state = TRY(run_captured(inspect));
  if (state.exit_code != 0) return std::unexpected(exec(run_argv(tiffin, c, call, container)));
  auto verb = base;
  if (state.out.starts_with("running")) verb.insert(verb.end(), {"attach", container});
  else verb.insert(verb.end(), {"start", "-a", "-i", container});
  return std::unexpected(exec(verb));
}

Result<int> launch(const std::string& name, int argc, char** argv, int first) {
  const char* dir = std::getenv("TIFFIN_FLAKES_DIR");
  FlakeConfig c = TRY(load_flake(dir && *dir ? dir : "/usr/share/flakes", name));
  if (!c.runas.empty() && c.runas != "root" && c.runas != "#0")
    return fail(Errc::unsupported, "runas " + c.runas + ": tiffin's engine runs as root (for the app's user inside: --user)");
  Caller call = caller_of(argc, argv, first);
  if (c.vm) return run_vm_flake(name, c, call);
  std::string tiffin = tiffin_binary();
  if (c.resume) return run_resumed(name, c, call);
  if (c.attach) return run_attached(tiffin, name, c, call);
  if (!c.include_tars.empty() || !c.include_paths.empty()) return run_with_includes(tiffin, c, call);
  return std::unexpected(exec(run_argv(tiffin, c, call)));
}

int usage() {
  std::fprintf(stderr,
      "tiffin-pilot: the launcher of flakes (host commands that run in a container or a microVM).\n"
      "Register one with `tiffin flake register --app /usr/bin/NAME --image IMAGE`; /usr/bin/NAME is then a\n"
      "symlink to tiffin-pilot, which runs the flake named by argv[0].\n"
      "  tiffin-pilot run NAME [ARGS...]   call flake NAME\n"
      "  tiffin-pilot agent                a resume flake's pid 1 (inside its container)\n");
  return 2;
}

}  // namespace

int pilot_main(int argc, char** argv) {
  std::string name = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "";
  int first = 1;
  if (name == "tiffin-pilot") {
    std::string verb = argc > 1 ? argv[1] : "";
    if (verb == "agent") {
      auto r = run_agent(kAgentSocket);
      if (!r) return report("agent", r.error());
      return 0;
    }
    if (verb != "run" || argc < 3) return usage();
    // A name, not a path: it picks <flakes dir>/NAME.yaml.
    auto checked = flake_name(argv[2]);
    if (!checked || *checked != argv[2]) return report(argv[2], fail(Errc::invalid_input, "not a flake name").error());
    name = argv[2];
    first = 3;
  }
  auto code = launch(name, argc, argv, first);
  return code ? *code : report(name, code.error());
}

}  // namespace tiffin::flake
