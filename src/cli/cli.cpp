#include "cli/cli.hpp"

#include <cstdlib>
#include <fmt/core.h>

#include <algorithm>

namespace tiffin::cli {

int exit_code_for(const Error& e) {
  switch (e.kind) {
    case Errc::invalid_input:
    case Errc::not_found:
    case Errc::conflict:
    case Errc::denied: return 2;
    default: return 1;
  }
}

void Context::run(const std::function<Result<int>()>& body) {
  auto r = body();
  if (!r) fmt::print(stderr, "tiffin: error: {}\n", r.error().message);
  exit_code = r ? *r : exit_code_for(r.error());
}

void Context::run_container_verb(const std::function<Result<int>()>& body) {
  auto r = body();
  if (!r) fmt::print(stderr, "tiffin: {}\n", r.error().message);
  exit_code = r ? *r : start_failure_exit_code(r.error());
}

bool want_json(const std::string& format) { return format == "json"; }

void print_json(const nlohmann::json& j, int indent) {
  fmt::print("{}\n", j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<void> set_tag(std::map<std::string, std::string>& tags, const std::string& kv) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) return fail(Errc::invalid_input, "tag '" + kv + "' is not key=value");
  tags[kv.substr(0, eq)] = kv.substr(eq + 1);
  return {};
}

namespace {

// Whether `token` is an option of `cmd` that takes a value in the next argument.
bool takes_value(CLI::App* cmd, const std::string& token) {
  if (!token.starts_with("-") || token.find('=') != std::string::npos) return false;
  std::string name = token.starts_with("--") ? token : token.substr(0, 2);
  if (!token.starts_with("--") && token.size() > 2) return false;  // -m512m: the value is attached
  const CLI::Option* opt = cmd->get_option_no_throw(name);
  return opt && opt->get_expected_min() > 0;
}

// `run IMAGE CMD…` and `exec CONTAINER CMD…`: everything after the image (or container) is the
// command's, also what looks like our options ("-u", "--rm"); it is cut off before CLI11 parses.
void split_off_command(CLI::App& app, std::vector<std::string>& args, std::vector<std::string>& command) {
  size_t i = 0;
  CLI::App* verb = nullptr;
  for (; i < args.size(); ++i) {
    if (args[i] == "--") return;
    if (!args[i].starts_with("-")) {
      if (args[i] == "run" || args[i] == "create" || args[i] == "exec") verb = app.get_subcommand(args[i]);
      if (!verb) return;
      break;
    }
    if (takes_value(&app, args[i])) ++i;
  }
  for (++i; i < args.size(); ++i) {
    if (args[i] == "--") return;
    if (!args[i].starts_with("-")) {
      command.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      args.resize(i + 1);
      return;
    }
    if (takes_value(verb, args[i])) ++i;
  }
}

}  // namespace

int run_with(int argc, char** argv, const AddVerbs& add_verbs, const std::function<void(bool debug)>& on_parsed) {
  CLI::App app{"tiffin — a container engine for flists", "tiffin"};
  app.set_version_flag("--version", std::string("tiffin ") + TIFFIN_VERSION);
  bool debug = false;
  app.add_flag("--debug", debug, "Verbose logging");
  Context ctx;
  app.add_option("--root", ctx.engine.root, "The node's state: images, containers, volumes")->envname("TIFFIN_ROOT")->capture_default_str();
  app.add_option("--run-root", ctx.engine.run_root, "The node's volatile state: mounts, sockets")
      ->envname("TIFFIN_RUN_ROOT")
      ->capture_default_str();
  app.add_option("--dns-upstream", ctx.engine.dns_upstreams,
         "Where the node's resolver sends names that are not containers' (default: the host's resolv.conf)")
      ->envname("TIFFIN_DNS_UPSTREAM")
      ->delimiter(',');
  // The node's public bridge for --public-ip6 (Zero-OS's br-pub): a node's setting, not a verb's.
  if (const char* bridge = std::getenv("TIFFIN_PUBLIC_BRIDGE"); bridge && *bridge) ctx.engine.public_bridge = bridge;
  app.require_subcommand(1);
  app.parse_complete_callback([&] {
    if (on_parsed) on_parsed(debug);
  });
  add_verbs(app, ctx);

  std::vector<std::string> args(argv + 1, argv + argc);
  split_off_command(app, args, ctx.command);
  std::reverse(args.begin(), args.end());  // CLI11 takes them from the back
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return ctx.exit_code;
}

void add_node_verbs(CLI::App& app, Context& ctx) {
  for (auto add : {add_run, add_create, add_start, add_restart, add_attach, add_ps, add_inspect, add_stop, add_kill, add_rm, add_wait,
           add_pause, add_top, add_stats, add_logs, add_exec, add_images, add_image, add_rmi, add_tag, add_volume, add_network, add_port,
           add_system, add_events, add_rename, add_diff, add_mount})
    add(app, ctx);
}

std::string remote_node_of(int argc, char** argv) {
  std::string verb = first_verb(argc, argv);
  if (verb.empty() || verb == "node" || verb == "deploy" || verb == "workloads" || verb == "zos") return {};
  // Before the verb's first operand only: what follows an image or a container is the
  // container's command line, whatever it says.
  bool after_verb = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--node" && i + 1 < argc) return argv[i + 1];
    if (a.starts_with("--node=")) return std::string(a.substr(7));
    if (a == "--" || (after_verb && !a.starts_with("-"))) break;
    if (a == verb) after_verb = true;
  }
  const char* env = std::getenv("TIFFIN_NODE");
  return env ? env : "";
}

bool prune_verb(int argc, char** argv) {
  if (first_verb(argc, argv) != "system") return false;
  int i = 1;
  while (i < argc && std::string_view(argv[i]) != "system") ++i;
  return i + 1 < argc && std::string_view(argv[i + 1]) == "prune";
}

bool zos_network_verb(int argc, char** argv) {
  if (first_verb(argc, argv) != "network") return false;
  int i = 1;
  while (i < argc && std::string_view(argv[i]) != "network") ++i;
  std::string_view sub = i + 1 < argc ? argv[i + 1] : "";
  if (sub == "update" || sub == "keygen") return true;
  if (sub != "create") return false;
  for (int j = i + 2; j < argc; ++j) {
    std::string_view a = argv[j], prev = argv[j - 1];
    if (a == "--driver=zos" || a == "-dzos" || ((prev == "-d" || prev == "--driver") && a == "zos") || a == "--config" ||
        a.starts_with("--config="))
      return true;
  }
  return false;
}

std::string first_verb(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--root" || a == "--run-root" || a == "--dns-upstream" || a == "--node") {
      ++i;
      continue;
    }
    if (!a.starts_with("-")) return a;
  }
  return {};
}

}  // namespace tiffin::cli
