// tiffin deploy WORKLOAD.json --user ID --key FILE [--node NAME]: signs a Zero-OS container
// workload for the node (its node id, this moment) and deploys it there; prints the node's
// signed result. The file's secret_environment values are plain text: they are encrypted for
// that node (version 1: with the user's key) before they leave. `--delete ID` deletes.
// tiffin workloads: what a node runs.
#include <fmt/core.h>
#include <sodium.h>

#include <ctime>

#include "cli/cli.hpp"
#include "cli/zos_remote.hpp"
#include "zos/secret_env.hpp"
#include "zos/zos_node.hpp"

namespace tiffin::cli {

using json = nlohmann::json;

namespace {

struct Opts {
  std::string file, key, node, secrets = "plain", format;
  int64_t user = 0, remove = 0;
  bool sign_only = false;
};

struct Target {
  std::optional<NodeEntry> remote;    // --node
  std::optional<zos::ZosNode> local;  // this node, directly
  std::string node_id, public_key;
};

Result<Target> target(const Context& ctx, const std::string& node) {
  Target t;
  if (!node.empty()) {
    t.remote = TRY(find_node(node));
    json j = TRY(expect_ok(TRY(call_node(*t.remote, "GET", "/zos/v1/node", "")), "node " + node));
    t.node_id = j.value("node_id", "");
    t.public_key = j.value("public_key", "");
  } else {
    t.local = TRY(zos::ZosNode::open(ctx.engine));
    t.node_id = t.local->identity().node_id();
    t.public_key = t.local->identity().public_hex();
  }
  return t;
}

// The signed request for the target node (and the target).
Result<std::pair<zos::DeployRequest, Target>> signed_request(const Context& ctx, const Opts& o) {
  if (o.user <= 0 || o.key.empty()) return fail(Errc::invalid_input, "deploying needs --user ID and --key FILE");
  zos::NodeIdentity user = TRY_CTX(zos::load_or_create_identity(o.key), "--key");
  Bytes text = TRY(read_file(o.file, 16 << 20));
  zos::ContainerWorkload w = TRY_CTX(zos::parse_workload_text(std::string(text.begin(), text.end())), o.file);
  Target t = TRY(target(ctx, o.node));
  if (w.workload_id == 0) w.workload_id = static_cast<int64_t>(randombytes_uniform(0x7fffffff)) + 1;
  w.node_id = t.node_id;
  w.customer_tid = o.user;
  w.epoch = static_cast<int64_t>(std::time(nullptr));
  zos::DeployRequest req;
  req.user_id = o.user;
  if (o.secrets == "plain") {
    req.secret_version = 1;
    for (auto& [k, v] : w.secret_environment) v = TRY_CTX(zos::encrypt_secret_v1(user, t.public_key, v), "secret_environment." + k);
  } else if (o.secrets == "v0" || o.secrets == "v1") {
    req.secret_version = o.secrets == "v1" ? 1 : 0;  // encrypted already, as Zero-OS clients do
  } else {
    return fail(Errc::invalid_input, "--secrets: plain, v0 or v1");
  }
  req.signature = user.sign_hex(zos::signature_challenge(w));
  req.workload = std::move(w);
  return std::pair{std::move(req), std::move(t)};
}

Result<zos::WorkloadResult> deploy(const Context& ctx, const Opts& o) {
  auto [req, t] = TRY(signed_request(ctx, o));
  if (t.local) {
    zos::DeployOutcome out = t.local->deploy(req);
    return out.result;
  }
  ApiAnswer a = TRY(call_node(*t.remote, "POST", "/zos/v1/workloads", "", zos::deploy_request_json(req).dump()));
  if (!a.body.is_object() || !a.body.contains("signature")) return std::unexpected(expect_ok(a, "deploy").error());
  return zos::parse_result(a.body);
}

Result<zos::WorkloadResult> remove(const Context& ctx, const Opts& o) {
  Target t = TRY(target(ctx, o.node));
  if (t.local) return t.local->remove(o.remove, std::nullopt);
  std::string path = "/zos/v1/workloads/" + std::to_string(o.remove);
  std::string auth = bearer(*t.remote);
  if (o.user > 0 && !o.key.empty()) auth = user_authorization(o.user, TRY(zos::load_or_create_identity(o.key)), "DELETE", path);
  return zos::parse_result(TRY(expect_ok(TRY(call_node(*t.remote, "DELETE", path, auth)), "delete")));
}

}  // namespace

void add_deploy(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("deploy", "Deploy a Zero-OS container workload (signed) and print the node's signed result");
  cmd->add_option("workload", o->file, "The workload's JSON (Zero-OS's container fields)");
  cmd->add_option("--user", o->user, "Your user id on the node");
  cmd->add_option("--key", o->key, "Your ed25519 key: a file holding its seed in hex (tiffin node keygen)");
  cmd->add_option("--node", o->node, "A node added with `tiffin node add` (default: this one)");
  cmd->add_option("--secrets", o->secrets, "secret_environment in the file: plain (encrypted here, v1), or v0/v1 (encrypted already)")
      ->capture_default_str();
  cmd->add_flag("--sign-only", o->sign_only, "Print the signed request (for POST /zos/v1/workloads) instead of sending it");
  cmd->add_option("--delete", o->remove, "Delete workload ID instead (yours with --user/--key, any with the admin token)");
  cmd->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      if (o->node.empty())
        if (const char* env = std::getenv("TIFFIN_NODE")) o->node = env;
      if (o->remove == 0 && o->file.empty()) return fail(Errc::invalid_input, "give a workload file, or --delete ID");
      if (o->sign_only) {
        fmt::print("{}\n", zos::deploy_request_json(TRY(signed_request(ctx, *o)).first).dump());
        return 0;
      }
      zos::WorkloadResult r = TRY(o->remove ? remove(ctx, *o) : deploy(ctx, *o));
      fmt::print("{}\n", zos::result_json(r).dump(2));
      if (r.state == zos::ResultState::error) {
        fmt::print(stderr, "tiffin: workload {}: {}\n", r.workload_id, r.message);
        return 1;
      }
      return 0;
    });
  });

  auto l = std::make_shared<Opts>();
  CLI::App* list = app.add_subcommand("workloads", "List a node's Zero-OS workloads");
  list->add_option("--node", l->node, "A node added with `tiffin node add` (default: this one)");
  list->add_option("--user", l->user, "As this user (with --key): your workloads only");
  list->add_option("--key", l->key, "Your ed25519 key file");
  list->add_option("--format", l->format, "json: one JSON document");
  list->callback([&ctx, l] {
    ctx.run([&]() -> Result<int> {
      if (l->node.empty())
        if (const char* env = std::getenv("TIFFIN_NODE")) l->node = env;
      json all = json::array();
      if (!l->node.empty()) {
        NodeEntry n = TRY(find_node(l->node));
        std::string auth = l->user > 0 && !l->key.empty()
                               ? user_authorization(l->user, TRY(zos::load_or_create_identity(l->key)), "GET", "/zos/v1/workloads")
                               : bearer(n);
        all = TRY(expect_ok(TRY(call_node(n, "GET", "/zos/v1/workloads", auth)), "node " + l->node));
      } else {
        zos::ZosNode z = TRY(zos::ZosNode::open(ctx.engine));
        auto e = ctx.open_engine();
        for (const auto& rec : TRY(z.list(std::nullopt))) all.push_back(zos::workload_view(e ? &*e : nullptr, rec));
      }
      if (l->format == "json") {
        fmt::print("{}\n", all.dump());
        return 0;
      }
      fmt::print("{:<12} {:<8} {:<14} {:<10} {:<8} {}\n", "WORKLOAD", "USER", "CONTAINER", "STATUS", "RESULT", "FLIST");
      for (const auto& r : all) {
        std::string state = r.contains("result") && r["result"].is_object() ? r["result"].value("state", "") : "";
        std::string flist = r.contains("workload") && r["workload"].is_object() ? r["workload"].value("flist", "") : "";
        fmt::print("{:<12} {:<8} {:<14} {:<10} {:<8} {}\n", r.value("workload_id", int64_t{0}), r.value("user_id", int64_t{0}),
            r.value("container", "").substr(0, 12), r.value("status", "-"), state, flist);
      }
      return 0;
    });
  });
}

}  // namespace tiffin::cli
