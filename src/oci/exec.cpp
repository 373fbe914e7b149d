#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/text.hpp"
#include "oci/oci_cli.hpp"
#include "runtime/spec.hpp"

namespace tiffin::oci {
namespace {

struct ExecFlags {
  runtime::ExecOptions opts;
  std::string process_file, cwd, user, apparmor, label;
  std::vector<std::string> env, caps, args, additional_gids;
  bool tty = false, no_new_privs = false;
};

// --user uid[:gid] and --additional-gids, numeric as runc takes them.
struct UserFlags {
  std::optional<uint32_t> uid, gid;
  std::vector<uint32_t> additional_gids;
};

Result<UserFlags> parse_user_flags(const ExecFlags& f) {
  UserFlags u;
  if (!f.user.empty()) {
    auto colon = f.user.find(':');
    u.uid = parse_uint<uint32_t>(std::string_view(f.user).substr(0, colon));
    if (colon != std::string::npos) u.gid = parse_uint<uint32_t>(std::string_view(f.user).substr(colon + 1));
    if (!u.uid || (colon != std::string::npos && !u.gid))
      return fail(Errc::invalid_input, "--user " + f.user + " is not uid[:gid] (numbers below 2^32)");
  }
  for (const auto& text : f.additional_gids) {
    auto gid = parse_uint<uint32_t>(text);
    if (!gid) return fail(Errc::invalid_input, "--additional-gids " + text + " is not a gid");
    u.additional_gids.push_back(*gid);
  }
  return u;
}

Result<runtime::Process> build_process(const Globals& g, ExecFlags& f) {
  if (!f.process_file.empty()) {
    Bytes text = TRY_CTX(read_file(f.process_file, 16 << 20), "reading " + f.process_file);
    return runtime::parse_process_json(std::string(text.begin(), text.end()));
  }
  // The flags are checked before the container is looked at: a typo is the answer, whatever
  // state the container is in.
  UserFlags user = TRY(parse_user_flags(f));
  for (const auto& e : f.env)
    if (e.find('=') == std::string::npos) return fail(Errc::invalid_input, "--env " + e + " is not KEY=value");
  runtime::Process p = TRY(runtime::exec_process(g.rt, f.opts.id));
  p.args = f.args;
  p.terminal = f.tty;
  for (const auto& e : f.env) {
    std::string key = e.substr(0, e.find('=') + 1);
    std::erase_if(p.env, [&](const std::string& old) { return old.starts_with(key); });
    p.env.push_back(e);
  }
  if (!f.cwd.empty()) p.cwd = f.cwd;
  p.user.uid = user.uid.value_or(p.user.uid);
  p.user.gid = user.gid.value_or(p.user.gid);  // the container's without one
  p.user.additional_gids.insert(p.user.additional_gids.end(), user.additional_gids.begin(), user.additional_gids.end());
  for (const auto& c : f.caps)
    for (auto* set : {&p.capabilities.bounding, &p.capabilities.effective, &p.capabilities.permitted}) set->push_back(c);
  if (f.no_new_privs) p.no_new_privileges = true;
  if (!f.apparmor.empty()) p.apparmor_profile = f.apparmor;
  if (!f.label.empty()) p.selinux_label = f.label;
  return p;
}

}  // namespace

void add_exec(CLI::App& app, Globals& g) {
  auto& f = g.keep<ExecFlags>();
  auto* cmd = app.add_subcommand("exec", "run a new process inside a container");
  cmd->add_option("-p,--process", f.process_file, "a process.json to run");
  cmd->add_flag("-d,--detach", f.opts.detach, "return once the process runs");
  cmd->add_option("--pid-file", f.opts.pid_file, "write the process's pid here");
  cmd->add_option("--console-socket", f.opts.console_socket, "unix socket that receives the terminal's master");
  cmd->add_flag("-t,--tty", f.tty, "give the process a terminal");
  cmd->add_option("-e,--env", f.env, "KEY=value (repeatable)")->allow_extra_args(false);
  cmd->add_option("--cwd", f.cwd, "working directory");
  cmd->add_option("-u,--user", f.user, "uid[:gid]");
  cmd->add_option("-g,--additional-gids", f.additional_gids, "additional gid (repeatable)")->allow_extra_args(false);
  cmd->add_option("-c,--cap", f.caps, "add a capability (repeatable)")->allow_extra_args(false);
  cmd->add_flag("--no-new-privs", f.no_new_privs, "set no_new_privs");
  cmd->add_option("--preserve-fds", f.opts.preserve_fds, "pass fds 3 .. 3+N-1");
  cmd->add_option("--apparmor", f.apparmor, "the AppArmor profile (refused where the host has no AppArmor)");
  cmd->add_option("--process-label", f.label, "the SELinux label (refused where the host has no SELinux)");
  cmd->add_option("id", f.opts.id, "container id")->required();
  // One value per repeatable flag, as runc's (else "-e K=V c1 sh" took the id and command as
  // values); everything after the id is the command, options included ("sh -c …").
  cmd->prefix_command();
  cmd->footer("usage: exec [options] <id> <command> [args...]");
  cmd->callback([&g, &f, cmd] {
    run_verb(g, [&]() -> Result<int> {
      f.args = cmd->remaining();
      if (f.process_file.empty() && f.args.empty()) return fail(Errc::invalid_input, "exec needs --process or a command");
      f.opts.process = TRY(build_process(g, f));
      return runtime::exec_in_container(g.rt, f.opts);
    });
  });
}

}  // namespace tiffin::oci
