#include "flake/tiffin_steps.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "common/fd.hpp"
#include "common/subprocess.hpp"
#include "flake/flake_launch.hpp"

namespace tiffin::flake {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> tiffin_argv(const FlakeConfig& c, const std::vector<std::string>& words) {
  std::vector<std::string> argv{tiffin_binary()};
  for (auto& f : engine_flags(c)) argv.push_back(std::move(f));
  argv.insert(argv.end(), words.begin(), words.end());
  return argv;
}

// `tiffin cp - ID:/` reading `in`.
Result<void> copy_tar_in(const FlakeConfig& c, const std::string& id, int in, const std::string& what) {
  pid_t pid = TRY(spawn(tiffin_argv(c, {"cp", "-", id + ":/"}), [in] { return ::dup2(in, 0) == 0; }));
  if (int code = wait_exit(pid); code != 0)
    return fail(Errc::invalid_input, "including " + what + ": tiffin cp exited with " + std::to_string(code));
  return {};
}

}  // namespace

HeldSignals::HeldSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, &old_);
}

HeldSignals::~HeldSignals() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }

std::string tiffin_binary() { return beside_self("tiffin"); }

std::string last_line(const std::string& out) {
  size_t nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

Result<std::string> tiffin_step(const FlakeConfig& c, const std::vector<std::string>& words, const std::string& what) {
  Captured r = TRY_CTX(run_captured(tiffin_argv(c, words), true), what);
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == ' ')) r.out.pop_back();
  if (r.exit_code != 0) return fail(r.exit_code == 2 ? Errc::invalid_input : Errc::internal, what + ": " + r.out);
  return r.out;
}

Result<void> provision_includes(const FlakeConfig& c, const std::string& id) {
  for (const auto& tar : c.include_tars) {
    UniqueFd in(::open(tar.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return fail_errno("including " + tar);
    TRY(copy_tar_in(c, id, in.get(), tar));
  }
  for (const auto& path : c.include_paths) {
    if (!path.starts_with('/')) return fail(Errc::invalid_input, "an included path must be absolute: " + path);
    // The host's tar (Debian: essential) writes the path with its parents' names; cp makes them.
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail_errno("pipe");
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    auto tar =
        spawn({"tar", "-C", "/", "--numeric-owner", "-cf", "-", "--", path.substr(1)}, [w = write_end.get()] { return ::dup2(w, 1) == 1; });
    if (!tar) return std::unexpected(tar.error().context("including " + path));
    write_end.reset();
    auto copied = copy_tar_in(c, id, read_end.get(), path);
    read_end.reset();
    int tar_code = wait_exit(*tar);
    TRY(std::move(copied));
    if (tar_code != 0) return fail(Errc::invalid_input, "including " + path + ": tar exited with " + std::to_string(tar_code));
  }
  return {};
}

}  // namespace tiffin::flake
