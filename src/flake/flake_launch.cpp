#include "flake/flake_launch.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace tiffin::flake {
namespace {

// Flags the pilot sets itself; registered options that say otherwise are dropped (flake-pilot's
// own examples carry "--rm" and "-ti", which would make a pipe a terminal).
bool decided_by_pilot(std::string_view flag) {
  static constexpr std::array<std::string_view, 12> kOwn = {
      "-i", "-t", "-it", "-ti", "--interactive", "--tty", "-d", "--detach", "--rm", "--name", "--entrypoint", "-dit"};
  for (auto own : kOwn)
    if (flag == own) return true;
  return flag.starts_with("--name=") || flag.starts_with("--entrypoint=");
}

void append(std::vector<std::string>& out, std::initializer_list<std::string> words) { out.insert(out.end(), words); }

std::string image_of(const FlakeConfig& c) { return c.engine_image.empty() ? c.image : c.engine_image; }

std::string flake_name_of(const FlakeConfig& c) { return flake_name(c.host_app_path).value_or(c.host_app_path); }

void terminal_flags(std::vector<std::string>& out, const Caller& call) {
  out.push_back("-i");
  if (call.stdin_tty && call.stdout_tty) append(out, {"-t", "-e", "TERM"});
}

}  // namespace

Caller split_pilot_words(const std::vector<std::string>& argv_after_0) {
  Caller call;
  for (const auto& a : argv_after_0) {
    if (a.size() > 1 && a[0] == '@') call.instance = a.substr(1);
    else if (a.size() > 1 && a[0] == '%') continue;
    else call.args.push_back(a);
  }
  return call;
}

bool binds_cwd(const std::string& cwd) {
  if (cwd.size() < 2 || cwd[0] != '/') return false;
  std::string_view first = std::string_view(cwd).substr(1);
  first = first.substr(0, first.find('/'));
  static constexpr std::array<std::string_view, 13> kSystem = {
      "bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "proc", "sys", "dev", "run", "boot"};
  for (auto s : kSystem)
    if (first == s) return false;
  return true;
}

std::string flake_container_name(const std::string& name, const std::string& instance) {
  std::string safe;
  for (char ch : name) safe += std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_' ? ch : '_';
  uint32_t h = 2166136261u;  // FNV-1a of NAME, NUL, INSTANCE
  for (char ch : name + std::string(1, '\0') + instance) h = (h ^ static_cast<unsigned char>(ch)) * 16777619u;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  return "flake-" + safe + "-" + hex;
}

std::vector<std::string> engine_flags(const FlakeConfig& c) {
  std::vector<std::string> out;
  if (!c.root.empty()) append(out, {"--root", c.root});
  if (!c.run_root.empty()) append(out, {"--run-root", c.run_root});
  return out;
}

std::vector<std::string> common_run_flags(const FlakeConfig& c, const Caller& call, bool with_user) {
  std::vector<std::string> out;
  if (binds_cwd(call.cwd)) append(out, {"-v", call.cwd + ":" + call.cwd, "-w", call.cwd});
  if (c.home && binds_cwd(call.home) && call.home != call.cwd) append(out, {"-v", call.home + ":" + call.home});
  if (c.home && !call.home.empty()) append(out, {"-e", "HOME=" + call.home});
  if (with_user && !c.user.empty()) append(out, {"--user", c.user});
  bool network = false;
  for (const auto& option : c.run_options) {
    auto words = split_run_option(option);
    if (decided_by_pilot(words[0])) continue;
    network =
        network || words[0] == "--network" || words[0] == "--net" || words[0].starts_with("--network=") || words[0].starts_with("--net=");
    out.insert(out.end(), words.begin(), words.end());
  }
  // A host command sees the host's network, as it would installed natively (and starts without
  // a namespace, veth and address to set up); "--opt '--network bridge'" isolates it.
  if (!network) append(out, {"--network", "host"});
  return out;
}

std::vector<std::string> run_argv(const std::string& tiffin, const FlakeConfig& c, const Caller& call, const std::string& name) {
  std::vector<std::string> out{tiffin};
  for (auto& f : engine_flags(c)) out.push_back(std::move(f));
  out.push_back("run");
  if (name.empty()) out.push_back("--rm");
  else append(out, {"--name", name, "--label", std::string(kFlakeLabel) + "=" + flake_name_of(c)});
  // tini as pid 1: the kernel drops INT, TERM and HUP sent to a pid 1 without handlers, so
  // without it Ctrl-C would not stop `cat` or `sleep`.
  out.push_back("--init");
  terminal_flags(out, call);
  for (auto& f : common_run_flags(c, call)) out.push_back(std::move(f));
  append(out, {"--pull", "never", "--entrypoint", c.target(), image_of(c)});
  out.insert(out.end(), call.args.begin(), call.args.end());
  return out;
}

std::vector<std::string> create_words(const FlakeConfig& c, const Caller& call) {
  std::vector<std::string> out{"create", "--rm", "--init"};
  terminal_flags(out, call);
  for (auto& f : common_run_flags(c, call)) out.push_back(std::move(f));
  append(out, {"--pull", "never", "--entrypoint", c.target(), image_of(c)});
  out.insert(out.end(), call.args.begin(), call.args.end());
  return out;
}

std::vector<std::string> resume_container_words(
    const std::string& pilot, const std::string& agent_dir, const FlakeConfig& c, const Caller& call, const std::string& name) {
  std::vector<std::string> out{"run", "-d", "--name", name, "--label", std::string(kFlakeLabel) + "=" + flake_name_of(c), "-v",
      pilot + ":/.tiffin/tiffin-pilot:ro", "-v", agent_dir + ":/.tiffin/agent"};
  for (auto& f : common_run_flags(c, call, false)) out.push_back(std::move(f));
  append(out, {"--pull", "never", "--entrypoint", "/.tiffin/tiffin-pilot", image_of(c), "agent"});
  return out;
}

}  // namespace tiffin::flake
