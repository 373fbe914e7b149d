// tiffin node …: this node's Zero-OS identity, users and admin token; the nodes this CLI
// manages (add/ls/rm) and what they answer (ping, info, disks, exec). Verbs that act on a node
// take --node NAME (or TIFFIN_NODE) for a remote one; without, they act on this one directly.
#include <fmt/core.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <iterator>

#include "cli/cli.hpp"
#include "cli/zos_remote.hpp"
#include "common/hex.hpp"
#include "zos/node_capacity.hpp"
#include "zos/zos_node.hpp"

namespace tiffin::cli {

using json = nlohmann::json;

namespace {

void add_node_option(CLI::App* cmd, std::string& node) {
  if (const char* env = std::getenv("TIFFIN_NODE")) node = env;
  cmd->add_option("--node", node, "A node added with `tiffin node add` (default: $TIFFIN_NODE, else this one)");
}

Result<std::string> read_text(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  Bytes b = TRY(read_file(path, 16 << 20));
  return std::string(b.begin(), b.end());
}

}  // namespace

void add_node(CLI::App& app, Context& ctx) {
  CLI::App* node = app.add_subcommand("node", "Zero-OS node: identity, users, remote nodes (add, ping, info, disks, exec)");
  node->require_subcommand(1);

  struct Opts {
    std::string node, name, url, token, key, file, node_key, format;
    int64_t user = 0;
    std::vector<std::string> argv;
  };
  auto o = std::make_shared<Opts>();

  CLI::App* id = node->add_subcommand("id", "Print the node's public key (hex) and node id");
  add_node_option(id, o->node);
  id->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      json j;
      if (!o->node.empty()) {
        NodeEntry n = TRY(find_node(o->node));
        j = TRY(expect_ok(TRY(call_node(n, "GET", "/zos/v1/node", "")), "node " + o->node));
      } else {
        zos::ZosNode z = TRY(zos::ZosNode::open(ctx.engine));
        j = {{"public_key", z.identity().public_hex()}, {"node_id", z.identity().node_id()}};
      }
      fmt::print("public key: {}\nnode id:    {}\n", j.value("public_key", ""), j.value("node_id", ""));
      return 0;
    });
  });

  CLI::App* users = node->add_subcommand("users", "The users who may deploy workloads here (their ed25519 keys)");
  users->require_subcommand(1);
  CLI::App* uadd = users->add_subcommand("add", "Register a user: ID and --key HEXPUB");
  uadd->add_option("id", o->user)->required();
  uadd->add_option("--key", o->key, "The user's ed25519 public key, 64 hex characters")->required();
  add_node_option(uadd, o->node);
  uadd->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      if (auto k = from_hex(o->key); !k || k->size() != 32)
        return fail(Errc::invalid_input, "--key: expected 64 hex characters (an ed25519 public key)");
      if (!o->node.empty()) {
        NodeEntry n = TRY(find_node(o->node));
        TRY(expect_ok(TRY(call_node(n, "POST", "/zos/v1/node/users", bearer(n), json{{"id", o->user}, {"public_key", o->key}}.dump())),
            "node " + o->node));
      } else {
        zos::ZosNode z = TRY(zos::ZosNode::open(ctx.engine));
        TRY(z.state().add_user({o->user, o->key}));
      }
      return 0;
    });
  });
  CLI::App* uls = users->add_subcommand("ls", "List the registered users");
  add_node_option(uls, o->node);
  uls->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      std::vector<zos::NodeUser> list;
      if (!o->node.empty()) {
        NodeEntry n = TRY(find_node(o->node));
        json j = TRY(expect_ok(TRY(call_node(n, "GET", "/zos/v1/node/users", bearer(n))), "node " + o->node));
        for (const auto& u : j) list.push_back({u.value("id", int64_t{0}), u.value("public_key", "")});
      } else {
        list = TRY(TRY(zos::ZosNode::open(ctx.engine)).state().users());
      }
      fmt::print("{:<12} {}\n", "ID", "PUBLIC KEY");
      for (const auto& u : list) fmt::print("{:<12} {}\n", u.id, u.public_key);
      return 0;
    });
  });
  CLI::App* urm = users->add_subcommand("rm", "Forget a user (their workloads stay until deleted)");
  urm->add_option("id", o->user)->required();
  add_node_option(urm, o->node);
  urm->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      if (!o->node.empty()) {
        NodeEntry n = TRY(find_node(o->node));
        TRY(expect_ok(TRY(call_node(n, "DELETE", "/zos/v1/node/users/" + std::to_string(o->user), bearer(n))), "node " + o->node));
      } else {
        TRY(TRY(zos::ZosNode::open(ctx.engine)).state().remove_user(o->user));
      }
      return 0;
    });
  });

  CLI::App* keygen = node->add_subcommand("keygen", "Make a user's ed25519 key: FILE holds its seed (hex, 0600); prints the public key");
  keygen->add_option("file", o->file)->required();
  keygen->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      if (::access(o->file.c_str(), F_OK) == 0) return fail(Errc::conflict, o->file + " exists");
      fmt::print("{}\n", TRY(zos::load_or_create_identity(o->file)).public_hex());
      return 0;
    });
  });

  CLI::App* token = node->add_subcommand("token", "Make a new admin token for this node's API (the old one stops working); printed once");
  token->add_option("--set-hash", o->key, "Take the token whose hash (hex BLAKE2b-256) this is instead (a VM's host made it)");
  token->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      zos::ZosNode z = TRY(zos::ZosNode::open(ctx.engine));
      if (!o->key.empty()) TRY(z.state().set_admin_token_hash(o->key));
      else fmt::print("{}\n", TRY(z.state().rotate_admin_token()));
      return 0;
    });
  });

  CLI::App* verify = node->add_subcommand("verify-result", "Check a workload result's signature (FILE or - for stdin)");
  verify->add_option("file", o->file, "The result as JSON")->required();
  verify->add_option("--node-key", o->node_key, "The node's public key (hex; default: this node's, or --node's)");
  add_node_option(verify, o->node);
  verify->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      json j = json::parse(TRY(read_text(o->file)), nullptr, false);
      if (j.is_discarded()) return fail(Errc::invalid_input, o->file + ": not JSON");
      zos::WorkloadResult r = TRY(zos::parse_result(j));
      std::string key = o->node_key;
      if (key.empty() && !o->node.empty())
        key = TRY(expect_ok(TRY(call_node(TRY(find_node(o->node)), "GET", "/zos/v1/node", "")), "node " + o->node)).value("public_key", "");
      if (key.empty()) key = TRY(zos::ZosNode::open(ctx.engine)).identity().public_hex();
      TRY(zos::verify_result(r, key));
      fmt::print("valid: workload {} {} signed by {}\n", r.workload_id, zos::state_name(r.state), key);
      return 0;
    });
  });

  CLI::App* add = node->add_subcommand("add", "Remember a node: NAME URL (its `tiffin serve --zos` address) --token T");
  add->add_option("name", o->name)->required();
  add->add_option("url", o->url, "http://host:port")->required();
  add->add_option("--token", o->token, "Its admin token (tiffin node token on that node)");
  add->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      if (!o->url.starts_with("http://") && !o->url.starts_with("https://"))
        return fail(Errc::invalid_input, "the URL must be http:// or https://");
      auto nodes = TRY(load_nodes());
      nodes[o->name] = {o->url, o->token};
      TRY(save_nodes(nodes));
      return 0;
    });
  });
  CLI::App* ls = node->add_subcommand("ls", "List the nodes this CLI manages");
  ls->callback([&ctx] {
    ctx.run([&]() -> Result<int> {
      fmt::print("{:<16} {:<32} {}\n", "NAME", "URL", "TOKEN");
      for (const auto& [name, n] : TRY(load_nodes())) fmt::print("{:<16} {:<32} {}\n", name, n.url, n.token.empty() ? "-" : "yes");
      return 0;
    });
  });
  CLI::App* rm = node->add_subcommand("rm", "Forget a node");
  rm->add_option("name", o->name)->required();
  rm->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      TRY(forget_node(o->name));
      return 0;
    });
  });

  CLI::App* ping = node->add_subcommand("ping", "Check that a node answers (and how fast)");
  add_node_option(ping, o->node);
  ping->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      if (o->node.empty()) return fail(Errc::invalid_input, "ping needs --node NAME (or TIFFIN_NODE)");
      auto t0 = std::chrono::steady_clock::now();
      json j = TRY(expect_ok(TRY(call_node(TRY(find_node(o->node)), "GET", "/zos/v1/node", "")), "node " + o->node));
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      fmt::print("pong from {} ({}) in {:.1f} ms\n", o->node, j.value("node_id", ""), ms);
      return 0;
    });
  });

  for (const auto& [verb, what] : {std::pair{"info", "Capacity: cpus, memory, disks, and what workloads reserved"},
           std::pair{"disks", "The node's disks with their sizes and types"}}) {
    CLI::App* cmd = node->add_subcommand(verb, what);
    add_node_option(cmd, o->node);
    cmd->add_option("--format", o->format, "json: the node's answer as it is");
    std::string v = verb;
    cmd->callback([&ctx, o, v] {
      ctx.run([&]() -> Result<int> {
        json j;
        if (!o->node.empty()) {
          NodeEntry n = TRY(find_node(o->node));
          j = TRY(expect_ok(TRY(call_node(n, "GET", "/zos/v1/node/" + v, bearer(n))), "node " + o->node));
        } else {
          zos::ZosNode z = TRY(zos::ZosNode::open(ctx.engine));
          j = v == "info" ? zos::node_capacity(z) : zos::disks_json(zos::host_disks());
        }
        if (o->format == "json") {
          fmt::print("{}\n", j.dump());
          return 0;
        }
        const json& disks = v == "info" ? j["disks"] : j;
        if (v == "info") {
          fmt::print("node:     {}\ncpus:     {}\nmemory:   {} MiB\n", j.value("node_id", ""), j.value("cpus", 0),
              j.value("memory", uint64_t{0}) >> 20);
          const json& r = j["reserved"];
          fmt::print("reserved: {} workloads, {} cpus, {} MiB memory, {} MiB disk\ndisks:\n", r.value("workloads", 0), r.value("cpu", 0),
              r.value("memory_mib", 0), r.value("disk_mib", 0));
        }
        for (const auto& d : disks)
          fmt::print("  {:<10} {:>10} MiB  {}\n", d.value("name", ""), d.value("size", uint64_t{0}) >> 20, d.value("type", ""));
        return 0;
      });
    });
  }

  add_node_vm(*node, ctx);
  add_node_trust(*node, ctx);

  CLI::App* exec = node->add_subcommand("exec", "Run a command on the node's host (admin token): tiffin node exec --node N -- CMD …");
  add_node_option(exec, o->node);
  exec->add_option("command", o->argv)->required();
  exec->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      if (o->node.empty()) return fail(Errc::invalid_input, "exec needs --node NAME (on this host, run the command itself)");
      NodeEntry n = TRY(find_node(o->node));
      json j = TRY(expect_ok(TRY(call_node(n, "POST", "/zos/v1/node/exec", bearer(n), json{{"argv", o->argv}}.dump())), "node " + o->node));
      std::string out = j.value("output", "");
      std::fwrite(out.data(), 1, out.size(), stdout);
      return j.value("exit_code", 1);
    });
  });
}

}  // namespace tiffin::cli
