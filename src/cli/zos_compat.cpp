// zos …: ThreeFold's `zos` command line (seed 002's, which drove Zero-OS's core over Redis) on
// tiffin nodes, through their /zos/v1 API with the admin token: `tiffin zos …`, or tiffin-full
// run as `zos` (a symlink). The nodes are the ones `tiffin node add` keeps (nodes.json);
// `zos configure` adds one and makes it the default; --node NAME or TIFFIN_NODE choose another.
//
//   zos configure --name N --address A [--port P] [--token T]   (--secret T: the seed's spelling)
//   zos setdefault N | showconfig | remove --name N | ping
//   zos cmd core.ping|core.system|disk.list|info|corex.list [--jsonargs JSON]
//   zos exec CMD …                      a command on the node's host
//   zos container new --name N --root FLIST [--hostname H] [--privileged] [--ports h:c,…]
//                     [--env K=V,…] [--extraconfig JSON]
//   zos container list | info [ID] | inspect [ID]
//   zos container ID delete | exec CMD … | sshenable [--key F]… | sshinfo | shell [CMD …]
//     (the seed's order; `zos container ACTION ID …` works as well)
//
// Containers are made, listed and entered with tiffin's own verbs run on the node
// (/zos/v1/node/cli): the node's engine decides, exactly as its own CLI would.
#include <fmt/core.h>
#include <glob.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "cli/cli.hpp"
#include "cli/zos_container_spec.hpp"
#include "cli/zos_remote.hpp"
#include "cli/zos_shell.hpp"
#include "common/text.hpp"

namespace tiffin::cli {

using json = nlohmann::json;

namespace {

// The container actions, which the seed wrote after the container: `container ID ACTION`.
const std::set<std::string>& zos_container_actions() {
  static const std::set<std::string> s = {"delete", "rm", "info", "inspect", "exec", "sshenable", "sshinfo", "shell"};
  return s;
}

struct ZosTarget {
  std::string name;
  NodeEntry node;
};

// --node, else TIFFIN_NODE, else the default `zos configure` set.
Result<ZosTarget> zos_target(const std::string& flag) {
  std::string name = flag;
  if (name.empty())
    if (const char* env = std::getenv("TIFFIN_NODE")) name = env;
  if (name.empty()) name = TRY(default_node());
  if (name.empty())
    return fail(Errc::invalid_input,
        "no node: `zos configure --name NAME --address ADDRESS --port PORT --token TOKEN` first (or --node NAME, TIFFIN_NODE)");
  return ZosTarget{name, TRY(find_node(name))};
}

// A tiffin verb on the node; its output when it succeeded, else an error carrying that output.
Result<std::string> zos_cli_ok(const ZosTarget& t, const std::vector<std::string>& argv) {
  NodeCliAnswer a = TRY(cli_on_node(t.node, t.name, argv));
  if (a.exit_code == 0) return a.output;
  std::string out = a.output;
  while (out.ends_with('\n')) out.pop_back();
  if (out.starts_with("tiffin: ")) out.erase(0, 8);
  Errc kind = a.exit_code == 2 ? Errc::invalid_input : Errc::internal;
  if (out.find("No such container") != std::string::npos || out.find("no such container") != std::string::npos) kind = Errc::not_found;
  return fail(kind, "node " + t.name + ": " + argv.front() + ": " + (out.empty() ? "exit " + std::to_string(a.exit_code) : out));
}

Result<json> zos_inspect(const ZosTarget& t, const std::string& ref) {
  std::string out = TRY(zos_cli_ok(t, {"inspect", "--type", "container", ref}));
  json j = json::parse(out, nullptr, false);
  if (!j.is_array() || j.empty()) return fail(Errc::corrupt, "node " + t.name + ": inspect " + ref + ": not docker's JSON");
  return j[0];
}

// The containers as `ps -a --format json` rows (one JSON object a line).
Result<std::vector<json>> zos_ps(const ZosTarget& t) {
  std::vector<json> rows;
  for (const auto& line : split(TRY(zos_cli_ok(t, {"ps", "-a", "--no-trunc", "--format", "json"})), '\n')) {
    if (line.empty()) continue;
    json row = json::parse(line, nullptr, false);
    if (!row.is_object()) return fail(Errc::corrupt, "node " + t.name + ": ps: not JSON: " + printable(line));
    rows.push_back(std::move(row));
  }
  return rows;
}

// The container's addresses on its networks.
std::vector<std::string> zos_addresses(const json& inspect) {
  std::vector<std::string> out;
  const json* nets = nullptr;
  if (inspect.contains("NetworkSettings") && inspect["NetworkSettings"].contains("Networks"))
    nets = &inspect["NetworkSettings"]["Networks"];
  if (nets && nets->is_object())
    for (const auto& [name, n] : nets->items())
      if (n.is_object() && n.value("IPAddress", "") != "") out.push_back(n.value("IPAddress", ""));
  return out;
}

// What the seed's `container info` showed, from docker's inspect.
json zos_info(const json& in) {
  const json& cfg = in.contains("Config") ? in["Config"] : json::object();
  const json& st = in.contains("State") ? in["State"] : json::object();
  std::string name = in.value("Name", "");
  if (name.starts_with("/")) name.erase(0, 1);
  return {{"id", in.value("Id", "")}, {"name", name}, {"root", cfg.value("Image", "")}, {"hostname", cfg.value("Hostname", "")},
      {"status", st.value("Status", "")}, {"pid", st.value("Pid", 0)}, {"addresses", zos_addresses(in)},
      {"ports", in.contains("NetworkSettings") ? in["NetworkSettings"].value("Ports", json::object()) : json::object()}};
}

// `zos exec 'ls -l /'` (one string, as the seed ran it through a shell) or `zos exec ls -l /`.
std::vector<std::string> zos_command(const std::vector<std::string>& words) {
  if (words.size() == 1) return {"sh", "-c", words[0]};
  return words;
}

Result<int> print_output(const std::string& out, int code) {
  std::fwrite(out.data(), 1, out.size(), stdout);
  return code;
}

Result<int> zos_host_exec(const ZosTarget& t, const std::vector<std::string>& argv) {
  std::string body;
  try {
    body = json{{"argv", argv}}.dump();
  } catch (const json::exception&) {
    return fail(Errc::invalid_input, "the command must be UTF-8 text");
  }
  json j = TRY(expect_ok(TRY(call_node(t.node, "POST", "/zos/v1/node/exec", bearer(t.node), body)), "node " + t.name));
  return print_output(j.value("output", ""), j.value("exit_code", 1));
}

// ---- zos container new

// A file of extraconfig's "config" into the running container; path and content travel as
// arguments of a fixed script, never as shell text.
Result<void> zos_write_file(const ZosTarget& t, const std::string& id, const std::string& path, const std::string& content) {
  static const std::string script = "d=\"${1%/*}\"; [ -z \"$d\" ] || mkdir -p \"$d\" || exit 1; printf '%s' \"$2\" > \"$1\"";
  TRY_CTX(zos_cli_ok(t, {"exec", id, "sh", "-c", script, "sh", path, content}), "extraconfig.config." + path);
  return {};
}

// The id `run -d` printed (its last line of 64 hex digits: progress may come before it).
std::string zos_run_id(const std::string& out) {
  std::string id;
  for (const auto& line : split(out, '\n'))
    if (line.size() == 64 && line.find_first_not_of("0123456789abcdef") == std::string::npos) id = line;
  return id;
}

Result<std::string> zos_new(const ZosTarget& t, const ZosContainerRequest& req) {
  ZosContainerPlan plan = TRY(plan_zos_container(req));
  for (const auto& n : plan.notes) fmt::print(stderr, "zos: note: {}\n", n);
  NodeCliAnswer a = TRY(cli_on_node(t.node, t.name, plan.run));
  if (a.exit_code != 0 && a.output.find("no command: the image has none") != std::string::npos) {
    // An flist with no program of its own (Zero-OS ran coreX there): a shell that waits on
    // its stdin, held open, keeps the container up. The refused attempt left a record.
    (void)cli_on_node(t.node, t.name, {"rm", "-f", req.name});
    auto run = plan.run;
    for (const auto& w : keep_alive_command()) run.push_back(w);
    a = TRY(cli_on_node(t.node, t.name, run));
  }
  std::string id = zos_run_id(a.output);
  if (a.exit_code != 0 || id.empty()) {
    std::string out = a.output;
    while (out.ends_with('\n')) out.pop_back();
    return fail(a.exit_code == 2 ? Errc::invalid_input : Errc::internal,
        "node " + t.name + ": the container did not start: " + (out.empty() ? "exit " + std::to_string(a.exit_code) : out));
  }
  // The rest is part of making it: a failure takes the container away again, as Zero-OS's
  // create either made one with everything asked or none.
  auto finish = [&]() -> Result<void> {
    for (const auto& j : plan.joins) {
      std::vector<std::string> argv = {"network", "connect"};
      if (!j.ip.empty()) argv.insert(argv.end(), {"--ip", j.ip});
      argv.insert(argv.end(), {j.network, id});
      TRY(zos_cli_ok(t, argv));
    }
    for (const auto& [path, content] : plan.files) TRY(zos_write_file(t, id, path, content));
    return {};
  };
  if (auto done = finish(); !done) {
    (void)cli_on_node(t.node, t.name, {"rm", "-f", id});
    return std::unexpected(done.error());
  }
  return id;
}

// ---- zos container ID sshenable

// ~/.ssh/*.pub, or the files given (a pattern the shell did not expand is expanded here).
Result<std::vector<std::string>> zos_ssh_keys(std::vector<std::string> files) {
  if (files.empty()) {
    const char* home = std::getenv("HOME");
    files.push_back(std::string(home && *home ? home : "/root") + "/.ssh/*.pub");
  }
  std::vector<std::string> paths;
  for (const auto& f : files) {
    if (f.find_first_of("*?[") == std::string::npos) {
      paths.push_back(f);
      continue;
    }
    glob_t g{};
    if (::glob(f.c_str(), 0, nullptr, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) paths.push_back(g.gl_pathv[i]);
    ::globfree(&g);
  }
  std::vector<std::string> keys;
  for (const auto& p : paths) {
    Bytes b = TRY_CTX(read_file(p, 1 << 20), p);
    for (auto line : split(std::string(b.begin(), b.end()), '\n')) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty() || line.starts_with("#")) continue;
      for (unsigned char c : line)
        if (c < 0x20 || c > 0x7e) return fail(Errc::invalid_input, p + ": not an OpenSSH public key (a line of printable ASCII)");
      if (line.find(' ') == std::string::npos)
        return fail(Errc::invalid_input, p + ": not an OpenSSH public key (\"TYPE BASE64 [COMMENT]\")");
      keys.push_back(line);
    }
  }
  if (keys.empty())
    return fail(Errc::invalid_input, paths.empty() ? "no public key: none matched " + files.front() + " (give --key FILE)"
                                                   : "no public key in " + paths.front() + (paths.size() > 1 ? " …" : ""));
  return keys;
}

// Runs in the container with the keys as its arguments: which sshd there is (exit 3 when
// neither, before anything is written), authorized_keys (0600 in a 0700 directory; keys already
// there are not added twice), then the sshd: dropbear when the image has it, else OpenSSH's
// (its host keys made first). Either detaches with its descriptors on /dev/null, so the exec
// ends while it runs on.
const char* const kSshEnableScript = R"sh(umask 077
if command -v dropbear >/dev/null 2>&1; then sshd=dropbear
elif [ -x /usr/sbin/sshd ]; then sshd=openssh
else
  echo "neither dropbear nor OpenSSH's /usr/sbin/sshd is in this container's image: add one to it (or use: zos container ID shell)" >&2
  exit 3
fi
ak=/root/.ssh/authorized_keys
mkdir -p /root/.ssh && chmod 700 /root/.ssh && touch "$ak" && chmod 600 "$ak" || exit 1
for k in "$@"; do
  if command -v grep >/dev/null 2>&1 && grep -qxF -- "$k" "$ak"; then :; else printf '%s\n' "$k" >> "$ak" || exit 1; fi
done
if [ $sshd = dropbear ]; then
  mkdir -p /etc/dropbear
  if ! pidof dropbear >/dev/null 2>&1; then
    dropbear -R -p 22 </dev/null >/dev/null 2>&1 || { echo "dropbear did not start" >&2; exit 1; }
  fi
else
  mkdir -p /run/sshd && chmod 755 /run/sshd
  ssh-keygen -A >/dev/null 2>&1 || { echo "ssh-keygen -A failed: sshd has no host keys" >&2; exit 1; }
  if ! pidof sshd >/dev/null 2>&1; then
    /usr/sbin/sshd </dev/null >/dev/null 2>&1 || { echo "/usr/sbin/sshd did not start" >&2; exit 1; }
  fi
fi
echo "sshd: $sshd"
)sh";

Result<int> zos_sshenable(const ZosTarget& t, const std::string& ref, const std::vector<std::string>& key_files) {
  std::vector<std::string> keys = TRY(zos_ssh_keys(key_files));
  json in = TRY(zos_inspect(t, ref));
  std::string id = in.value("Id", ref);
  std::vector<std::string> argv = {"exec", id, "sh", "-c", kSshEnableScript, "sh"};
  argv.insert(argv.end(), keys.begin(), keys.end());
  NodeCliAnswer a = TRY(cli_on_node(t.node, t.name, argv));
  std::string out = a.output;
  while (out.ends_with('\n')) out.pop_back();
  if (a.exit_code != 0)
    return fail(a.exit_code == 3 ? Errc::unsupported : Errc::internal,
        "sshenable " + ref + ": " + (out.empty() ? "exit " + std::to_string(a.exit_code) : out));
  fmt::print("{} ({} key{})\n", out, keys.size(), keys.size() == 1 ? "" : "s");
  for (const auto& ip : zos_addresses(in)) fmt::print("ssh root@{}\n", ip);
  return 0;
}

void zos_print_table(const std::vector<json>& rows) {
  fmt::print("{:<14}{:<24}{:<48}{}\n", "ID", "NAME", "FLIST/IMAGE", "STATUS");
  for (const auto& r : rows)
    fmt::print(
        "{:<14}{:<24}{:<48}{}\n", r.value("ID", "").substr(0, 12), r.value("Names", ""), r.value("Image", ""), r.value("Status", ""));
}

}  // namespace

std::vector<std::string> zos_command_line(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  if (args.empty()) return args;
  if (std::filesystem::path(args[0]).filename() == "zos") args.insert(args.begin() + 1, "zos");
  // The verb, then `container`, then the seed's `ID ACTION` → `ACTION ID`.
  size_t i = 1;
  auto skip_options = [&] {
    while (i < args.size() && args[i].starts_with("-")) {
      bool with_value =
          args[i] == "--root" || args[i] == "--run-root" || args[i] == "--dns-upstream" || args[i] == "--node" || args[i] == "--on";
      i += with_value ? 2 : 1;
    }
  };
  skip_options();
  if (i >= args.size() || args[i] != "zos") return args;
  ++i;
  skip_options();
  if (i >= args.size() || args[i] != "container") return args;
  ++i;
  skip_options();
  if (i + 1 < args.size() && !zos_container_actions().contains(args[i]) && zos_container_actions().contains(args[i + 1]))
    std::swap(args[i], args[i + 1]);
  return args;
}

void add_zos(CLI::App& app, Context& ctx) {
  CLI::App* zos = app.add_subcommand("zos", "ThreeFold's zos command line against Zero-OS nodes (configure, cmd, exec, container …)");
  zos->require_subcommand(1);
  zos->fallthrough();  // --node after the subcommand too

  struct Opts {
    std::string node, name, address, token, cmd, jsonargs, hostname, root, ports, env, extraconfig, container;
    uint16_t port = 6379;
    bool setdefault = false, privileged = false, as_json = false;
    std::vector<std::string> words, keys, keys_from;
  };
  auto o = std::make_shared<Opts>();
  zos->add_option(
      "--node,--on", o->node, "The node (a name from `zos configure` or `tiffin node add`; default: TIFFIN_NODE, else the default)");

  CLI::App* configure = zos->add_subcommand("configure", "Remember a node (its `tiffin serve --zos` address) and make it the default");
  configure->add_option("--name", o->name, "A name for it")->required();
  configure->add_option("--address", o->address, "Its address")->required();
  configure->add_option("--port", o->port, "Its --zos port")->capture_default_str();
  configure->add_option("--token,--secret", o->token, "Its admin token (tiffin node token, on the node)");
  configure->add_flag("--setdefault", o->setdefault, "Make it the default (it always is)");
  configure->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      std::string host = o->address.find(':') != std::string::npos && !o->address.starts_with("[") ? "[" + o->address + "]" : o->address;
      auto nodes = TRY(load_nodes());
      nodes[o->name] = {"http://" + host + ":" + std::to_string(o->port), o->token};
      TRY(save_nodes(nodes));
      TRY(set_default_node(o->name));
      return 0;
    });
  });

  CLI::App* setdefault = zos->add_subcommand("setdefault", "Make a configured node the default");
  setdefault->add_option("name", o->name)->required();
  setdefault->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      TRY(set_default_node(o->name));
      return 0;
    });
  });

  CLI::App* showconfig = zos->add_subcommand("showconfig", "The configured nodes (* the default)");
  showconfig->callback([&ctx] {
    ctx.run([&]() -> Result<int> {
      std::string def = TRY(default_node());
      fmt::print("  {:<16} {:<32} {}\n", "NAME", "URL", "TOKEN");
      for (const auto& [name, n] : TRY(load_nodes()))
        fmt::print("{} {:<16} {:<32} {}\n", name == def ? '*' : ' ', name, n.url, n.token.empty() ? "-" : "yes");
      return 0;
    });
  });

  CLI::App* remove = zos->add_subcommand("remove", "Forget a configured node");
  remove->add_option("--name", o->name)->required();
  remove->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      TRY(forget_node(o->name));
      return 0;
    });
  });

  auto ping = [o]() -> Result<int> {
    ZosTarget t = TRY(zos_target(o->node));
    json j = TRY(expect_ok(TRY(call_node(t.node, "GET", "/zos/v1/node", "")), "node " + t.name));
    fmt::print("PONG {} (tiffin {})\n", j.value("node_id", ""), j.value("version", ""));
    return 0;
  };
  zos->add_subcommand("ping", "Check that the node answers")->callback([&ctx, ping] { ctx.run(ping); });

  CLI::App* cmd = zos->add_subcommand("cmd", "One of Zero-OS core's commands: core.ping, core.system, disk.list, info, corex.list");
  cmd->add_option("command", o->cmd)->required();
  cmd->add_option("--jsonargs", o->jsonargs, "Its arguments, a JSON object (core.system: {\"name\": …, \"args\": […]})");
  cmd->callback([&ctx, o, ping] {
    ctx.run([&]() -> Result<int> {
      json args = o->jsonargs.empty() ? json::object() : json::parse(o->jsonargs, nullptr, false);
      if (!args.is_object()) return fail(Errc::invalid_input, "--jsonargs: expected a JSON object");
      const std::string& c = o->cmd;
      if (c == "core.ping") return ping();
      ZosTarget t = TRY(zos_target(o->node));
      if (c == "disk.list" || c == "info" || c == "info.disk") {
        json j = TRY(expect_ok(
            TRY(call_node(t.node, "GET", c == "info" ? "/zos/v1/node/info" : "/zos/v1/node/disks", bearer(t.node))), "node " + t.name));
        print_json(j);
        return 0;
      }
      if (c == "core.system") {
        if (!args.contains("name") || !args["name"].is_string()) return fail(Errc::invalid_input, "core.system: --jsonargs needs \"name\"");
        std::vector<std::string> argv = {args["name"].get<std::string>()};
        if (args.contains("args")) {
          if (!args["args"].is_array()) return fail(Errc::invalid_input, "core.system: \"args\" is an array of strings");
          for (const auto& a : args["args"]) {
            if (!a.is_string()) return fail(Errc::invalid_input, "core.system: \"args\" is an array of strings");
            argv.push_back(a.get<std::string>());
          }
        }
        return zos_host_exec(t, argv);
      }
      if (c == "corex.list") {
        json out = json::array();
        for (const auto& r : TRY(zos_ps(t))) out.push_back(r);
        print_json(out);
        return 0;
      }
      return fail(Errc::unsupported, "cmd " + c + ": not one a tiffin node answers (core.ping, core.system, disk.list, info, corex.list)");
    });
  });

  CLI::App* exec = zos->add_subcommand("exec", "Run a command on the node's host: zos exec 'ls -l /' (one string: through sh -c)");
  exec->add_option("command", o->words)->required();
  exec->positionals_at_end();
  exec->callback([&ctx, o] { ctx.run([&]() -> Result<int> { return zos_host_exec(TRY(zos_target(o->node)), zos_command(o->words)); }); });

  // ---- containers
  CLI::App* container =
      zos->add_subcommand("container", "The node's containers: new, list, info, inspect, and ID delete|exec|sshenable|shell");
  container->require_subcommand(1);

  CLI::App* cnew = container->add_subcommand("new", "Start a container from an flist (prints its id)");
  cnew->add_option("--name", o->name, "Its name")->required();
  cnew->add_option("--root", o->root, "The flist: a hub URL, an .fl URL or an image")->required();
  cnew->add_option("--hostname", o->hostname, "Its host name (default: the name)");
  cnew->add_flag("--privileged", o->privileged, "All capabilities, no seccomp, all devices");
  cnew->add_option("--ports", o->ports, "Published ports: host:container,…");
  cnew->add_option("--env", o->env, "Environment: KEY=VALUE,…");
  cnew->add_option(
      "--extraconfig", o->extraconfig, "Zero-OS core's container.create arguments, JSON: mount, host_network, nics, port, env, config …");
  cnew->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      ZosTarget t = TRY(zos_target(o->node));
      std::string id = TRY(zos_new(t, {o->name, o->root, o->hostname, o->privileged, o->ports, o->env, o->extraconfig}));
      fmt::print("{}\n", id);
      return 0;
    });
  });

  CLI::App* list = container->add_subcommand("list", "The containers: ID, name, flist, status");
  list->alias("ls");
  list->add_flag("--json", o->as_json, "As JSON");
  list->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      auto rows = TRY(zos_ps(TRY(zos_target(o->node))));
      if (!o->as_json) {
        zos_print_table(rows);
        return 0;
      }
      json out = json::array();
      for (const auto& r : rows)
        out.push_back({{"id", r.value("ID", "")}, {"name", r.value("Names", "")}, {"root", r.value("Image", "")},
            {"state", r.value("State", "")}, {"status", r.value("Status", "")}});
      print_json(out);
      return 0;
    });
  });

  for (const auto& [verb, what] : {std::pair{"info", "A container's id, name, flist, hostname, status, pid, addresses (all without ID)"},
           std::pair{"inspect", "A container's docker inspect JSON (all without ID)"}}) {
    CLI::App* c = container->add_subcommand(verb, what);
    c->add_option("container", o->container, "ID or name");
    std::string v = verb;
    c->callback([&ctx, o, v] {
      ctx.run([&]() -> Result<int> {
        ZosTarget t = TRY(zos_target(o->node));
        auto one = [&](const std::string& ref) -> Result<json> {
          json in = TRY(zos_inspect(t, ref));
          return v == "info" ? zos_info(in) : in;
        };
        if (!o->container.empty()) {
          print_json(TRY(one(o->container)));
          return 0;
        }
        json all = json::array();
        for (const auto& r : TRY(zos_ps(t))) all.push_back(TRY(one(r.value("ID", ""))));
        print_json(all);
        return 0;
      });
    });
  }

  CLI::App* del = container->add_subcommand("delete", "Stop and remove a container");
  del->alias("rm");
  del->add_option("container", o->container, "ID or name")->required();
  del->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      TRY(zos_cli_ok(TRY(zos_target(o->node)), {"rm", "-f", o->container}));
      return 0;
    });
  });

  CLI::App* cexec = container->add_subcommand("exec", "Run a command in a container: zos container ID exec 'ls -l /'");
  cexec->add_option("container", o->container, "ID or name")->required();
  cexec->add_option("command", o->words)->required();
  cexec->positionals_at_end();
  cexec->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      std::vector<std::string> argv = {"exec", o->container};
      for (auto& w : zos_command(o->words)) argv.push_back(std::move(w));
      ZosTarget t = TRY(zos_target(o->node));
      NodeCliAnswer a = TRY(cli_on_node(t.node, t.name, argv));
      return print_output(a.output, a.exit_code);
    });
  });

  CLI::App* ssh =
      container->add_subcommand("sshenable", "authorized_keys into the container and an sshd started there (dropbear or OpenSSH's)");
  ssh->add_option("container", o->container, "ID or name")->required();
  ssh->add_option("--key", o->keys, "A public key file (default: ~/.ssh/*.pub)");
  ssh->add_option("--keys-from", o->keys_from, "Public key files (a pattern is expanded)");
  ssh->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      std::vector<std::string> files = o->keys;
      files.insert(files.end(), o->keys_from.begin(), o->keys_from.end());
      return zos_sshenable(TRY(zos_target(o->node)), o->container, files);
    });
  });

  CLI::App* sshinfo = container->add_subcommand("sshinfo", "Where to ssh to: root@ADDRESS on each of its networks");
  sshinfo->add_option("container", o->container, "ID or name")->required();
  sshinfo->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      for (const auto& ip : zos_addresses(TRY(zos_inspect(TRY(zos_target(o->node)), o->container)))) fmt::print("root@{}\n", ip);
      return 0;
    });
  });

  CLI::App* shell = container->add_subcommand("shell", "An interactive shell in the container over the node's API (no sshd)");
  shell->add_option("container", o->container, "ID or name")->required();
  shell->add_option("command", o->words, "What to run instead of the shell (bash if the image has it, else sh)");
  shell->positionals_at_end();
  shell->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      std::vector<std::string> argv = o->words;
      if (argv.empty()) argv = {"sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash; exec sh"};
      ZosTarget t = TRY(zos_target(o->node));
      return shell_on_node(t.node, t.name, o->container, argv);
    });
  });
}

}  // namespace tiffin::cli
