#include "zos/zos_node.hpp"

#include <sodium.h>

#include <ctime>

#include "common/hex.hpp"
#include "engine/corex_mode.hpp"
#include "zos/secret_env.hpp"
#include "zos/workload_validation.hpp"

namespace tiffin::zos {

using json = nlohmann::json;

namespace {

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

// What validation asks of the node, answered by the engine.
class EngineFacts final : public NodeFacts {
 public:
  explicit EngineFacts(engine::Engine& e) : e_(e) {}
  std::optional<std::string> network_subnet(const std::string& id) const override {
    auto n = e_.network(id);
    if (!n) return std::nullopt;
    return n->subnet.str();
  }
  bool volume_exists(const std::string& id) const override { return bool(e_.volume(id)); }

 private:
  engine::Engine& e_;
};

// The workload as stored and compared: without what differs from one signed request of it to
// the next (its epoch; its secrets' ciphertexts, which take a fresh nonce each time: those are
// compared decrypted), so a second deploy of the same workload is recognised.
std::string content_key(ContainerWorkload w) {
  w.epoch = 0;
  for (auto& [k, v] : w.secret_environment) v.clear();
  return signature_challenge(w);
}

}  // namespace

json workload_view(engine::Engine* e, const WorkloadRecord& rec) {
  json w = json::parse(rec.workload, nullptr, false);
  if (w.is_object() && w.contains("secret_environment") && w["secret_environment"].is_object())
    for (auto& [k, v] : w["secret_environment"].items()) v = "<encrypted>";
  json out = {{"workload_id", rec.id}, {"user_id", rec.user_id}, {"container", rec.container}, {"workload", w},
      {"result", json::parse(rec.result, nullptr, false)}};
  if (e)
    if (auto info = e->inspect(rec.container)) out["status"] = shim::status_name(info->state.status);
  return out;
}

std::string workload_container_name(int64_t id) { return "zos-" + std::to_string(id); }

Result<std::vector<std::string>> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) word += s[++i];
      else word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      word += s[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) return fail(Errc::invalid_input, "entrypoint: unterminated " + std::string(1, quote) + " quote");
  if (in_word) out.push_back(std::move(word));
  return out;
}

Result<DeployRequest> parse_deploy_request(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid_input, "the deploy request is not a JSON object");
  DeployRequest r;
  if (!j.contains("user_id") || !j["user_id"].is_number_integer()) return fail(Errc::invalid_input, "user_id: expected an integer");
  r.user_id = j["user_id"].get<int64_t>();
  if (!j.contains("signature") || !j["signature"].is_string()) return fail(Errc::invalid_input, "signature: expected a hex string");
  r.signature = j["signature"].get<std::string>();
  if (j.contains("version")) {
    if (!j["version"].is_number_integer() || (j["version"] != 0 && j["version"] != 1))
      return fail(Errc::invalid_input, "version: expected 0 or 1 (how the secret environment is encrypted)");
    r.secret_version = j["version"].get<int>();
  }
  if (!j.contains("workload")) return fail(Errc::invalid_input, "workload: missing");
  r.workload = TRY_CTX(parse_workload(j["workload"]), "workload");
  return r;
}

json deploy_request_json(const DeployRequest& r) {
  return {{"user_id", r.user_id}, {"signature", r.signature}, {"version", r.secret_version}, {"workload", workload_json(r.workload)}};
}

Result<ZosNode> ZosNode::open(const engine::EngineOptions& opts) {
  NodeIdentity id = TRY(load_or_create_identity(opts.root + "/zos/identity.key"));
  NodeState st = TRY(NodeState::open(opts.root));
  return ZosNode(opts, std::move(id), std::move(st));
}

WorkloadResult ZosNode::signed_result(int64_t id, ResultState s, const std::string& message, const json& data) const {
  WorkloadResult r;
  r.workload_id = id;
  r.node_id = identity_.node_id();
  r.state = s;
  r.message = message;
  r.data_json = data.dump();
  r.epoch = now();
  sign_result(r, identity_);
  return r;
}

Result<void> ZosNode::check_user_request(int64_t user, int64_t time, const std::string& message, const std::string& signature) {
  auto key = TRY(state_.user_key(user));
  if (!key) return fail(Errc::denied, "user " + std::to_string(user) + " is not registered on this node");
  TRY(verify_hex_signature(*key, message, signature));
  if (time < now() - kRequestWindow || time > now() + kRequestWindow)
    return fail(Errc::denied, "the request's time is more than 5 minutes from the node's clock (stale or replayed)");
  return state_.remember_signature(signature, time + 2 * kRequestWindow);
}

DeployOutcome ZosNode::deploy(const DeployRequest& r) {
  const int64_t id = r.workload.workload_id;
  auto refused = [&](const Error& e) { return DeployOutcome{signed_result(id, ResultState::error, e.message, json::object()), e}; };
  auto key = state_.user_key(r.user_id);
  if (!key) return refused(key.error());
  if (!*key) return refused({Errc::denied, 0, "user " + std::to_string(r.user_id) + " is not registered on this node"});
  if (auto who = authenticate(r, **key); !who) return refused(who.error());
  auto done = deploy_checked(r, **key);
  if (!done) {
    DeployOutcome out = refused(done.error());
    out.authenticated = true;
    return out;
  }
  return {std::move(*done), std::nullopt, true};
}

Result<void> ZosNode::authenticate(const DeployRequest& r, const std::string& user_key) const {
  const ContainerWorkload& w = r.workload;
  TRY_CTX(verify_hex_signature(user_key, signature_challenge(w), r.signature), "the workload's signature");
  if (w.customer_tid != r.user_id)
    return fail(Errc::denied, "customer_tid " + std::to_string(w.customer_tid) + " is not the signing user " + std::to_string(r.user_id));
  if (w.node_id != identity_.node_id())
    return fail(Errc::denied, "the workload is for node '" + w.node_id + "', this is " + identity_.node_id());
  if (w.epoch < now() - kRequestWindow || w.epoch > now() + kRequestWindow)
    return fail(Errc::denied, "the workload's epoch is more than 5 minutes from the node's clock: sign it again");
  return {};
}

Result<WorkloadResult> ZosNode::deploy_checked(const DeployRequest& r, const std::string& user_key) {
  const ContainerWorkload& w = r.workload;
  // The same workload again is no effect, so no replay either: its result again.
  std::string key = content_key(w);
  if (auto existing = TRY(state_.workload(w.workload_id))) {
    bool same = existing->user_id == r.user_id && existing->challenge == key;
    if (same && !w.secret_environment.empty()) {
      auto before = parse_workload_text(existing->workload);
      auto old_secrets = before ? decrypt_secrets(*before, existing->secret_version, user_key)
                                : Result<std::vector<std::string>>(std::vector<std::string>{});
      auto new_secrets = decrypt_secrets(w, r.secret_version, user_key);
      same = old_secrets && new_secrets && *old_secrets == *new_secrets;
      for (auto* list : {&old_secrets, &new_secrets})
        if (*list)
          for (auto& s : **list) sodium_memzero(s.data(), s.size());
    }
    if (!same) return fail(Errc::conflict, "workload " + std::to_string(w.workload_id) + " exists with other content: delete it first");
    return TRY(parse_result(json::parse(existing->result, nullptr, false)));
  }
  TRY(state_.remember_signature(r.signature, w.epoch + 2 * kRequestWindow));
  if (w.interactive) {
    // coreX never serves without authentication: its token is the user's, sealed to this node.
    if (!w.secret_environment.contains("COREX_TOKEN"))
      return fail(Errc::invalid_input, "an interactive workload needs secret_environment.COREX_TOKEN: the token its coreX asks for");
    if (w.network_connection.empty()) return fail(Errc::invalid_input, "an interactive workload needs a network: coreX listens on eth0");
  }

  engine::Engine e = TRY(engine::Engine::open(opts_));
  TRY(validate_workload(w, EngineFacts(e)));
  std::vector<std::string> secrets = TRY(decrypt_secrets(w, r.secret_version, user_key));
  std::string container = TRY(run_container(e, w, secrets));
  for (auto& s : secrets) sodium_memzero(s.data(), s.size());

  std::string ipv4, ipv6;
  if (auto eps = e.container_endpoints(container); eps && !eps->empty()) {
    ipv4 = eps->front().ip.str();
    if (eps->front().ip6) ipv6 = eps->front().ip6->str();
  }
  // With a public IPv6, that one (Zero-OS's result names it): SLAAC needs an advert first.
  if (!w.network_connection.empty() && w.network_connection.front().public_ip6)
    if (auto pub = e.public_ip6_of(container, std::chrono::seconds(10)); pub && !pub->empty()) ipv6 = pub->front().str();
  json data{{"id", container}, {"ipv4", ipv4}, {"ipv6", ipv6}};
  if (w.interactive && !ipv4.empty()) data["corex"] = "http://" + ipv4 + ":" + std::to_string(engine::kCorexPort) + "/";
  WorkloadResult res = signed_result(w.workload_id, ResultState::ok, "", data);
  WorkloadRecord rec{w.workload_id, r.user_id, workload_json(w).dump(), key, r.secret_version, container, result_json(res).dump()};
  if (auto stored = state_.put_workload(rec); !stored) {
    (void)e.remove(container, true, true);
    return std::unexpected(stored.error());
  }
  return res;
}

Result<std::vector<std::string>> ZosNode::decrypt_secrets(const ContainerWorkload& w, int version, const std::string& user_key) {
  std::vector<std::string> out;
  for (const auto& [k, v] : w.secret_environment) {
    auto plain = version == 0 ? decrypt_secret_v0(identity_, v) : decrypt_secret_v1(identity_, user_key, v);
    if (!plain) return std::unexpected(plain.error().context("secret_environment." + k));
    out.push_back(k + "=" + *plain);
    sodium_memzero(plain->data(), plain->size());
  }
  return out;
}

Result<std::string> ZosNode::run_container(engine::Engine& e, const ContainerWorkload& w, const std::vector<std::string>& secrets) {
  engine::ContainerConfig c;
  c.name = workload_container_name(w.workload_id);
  c.image = w.flist;
  c.corex = w.interactive;  // coreX instead of the entrypoint (Zero-OS's interactive containers)
  for (const auto& [k, v] : w.environment) c.env.push_back(k + "=" + v);
  for (const auto& [k, v] : w.secret_environment) c.secret_env_keys.push_back(k);
  if (!w.entrypoint.empty()) {
    auto words = TRY(split_words(w.entrypoint));
    if (!words.empty()) {
      c.entrypoint = std::vector<std::string>{words.front()};
      c.cmd.assign(words.begin() + 1, words.end());
    }
  }
  for (const auto& v : w.volumes) c.volumes.push_back(v.volume_id + ":" + v.mountpoint);
  if (w.network_connection.empty()) {
    c.network = "none";
  } else {
    c.network = w.network_connection.front().network_id;
    c.ip = w.network_connection.front().ipaddress;
    c.public_ip6 = w.network_connection.front().public_ip6;
  }
  c.cpus = static_cast<double>(w.capacity.cpu);
  c.memory = w.capacity.memory << 20;
  c.disk_size_mib = w.capacity.disk_size;
  c.disk_type = w.capacity.disk_type;
  if (!w.logs.empty()) {
    c.log_stdout = w.logs.front().stdout_url;
    c.log_stderr = w.logs.front().stderr_url;
  }
  if (!w.stats_endpoints.empty()) c.stats_redis = w.stats_endpoints.front();
  c.restart = "zos";
  c.labels = {{"tiffin.zos.workload", std::to_string(w.workload_id)}, {"tiffin.zos.user", std::to_string(w.customer_tid)}};
  std::string id = TRY(e.create(c));
  engine::StartOptions so;
  so.secret_env = secrets;
  if (auto started = e.start(id, so); !started) {
    (void)e.remove(id, true, true);  // nothing of a failed deploy stays
    return std::unexpected(started.error());
  }
  return id;
}

Result<WorkloadResult> ZosNode::remove(int64_t id, std::optional<int64_t> user) {
  WorkloadRecord rec = TRY(get(id, user));
  engine::Engine e = TRY(engine::Engine::open(opts_));
  if (auto gone = e.remove(rec.container, true, true); !gone && gone.error().kind != Errc::not_found) return std::unexpected(gone.error());
  TRY(state_.remove_workload(id));
  return signed_result(id, ResultState::deleted, "", json::object());
}

Result<WorkloadRecord> ZosNode::get(int64_t id, std::optional<int64_t> user) {
  auto rec = TRY(state_.workload(id));
  if (!rec || (user && rec->user_id != *user)) return fail(Errc::not_found, "no workload " + std::to_string(id) + " on this node");
  return *rec;
}

Result<std::vector<WorkloadRecord>> ZosNode::list(std::optional<int64_t> user) {
  auto all = TRY(state_.workloads());
  if (user) std::erase_if(all, [&](const WorkloadRecord& r) { return r.user_id != *user; });
  return all;
}

Result<std::vector<std::string>> ZosNode::restore() {
  engine::Engine e = TRY(engine::Engine::open(opts_));
  std::vector<std::string> done;
  for (const auto& rec : TRY(state_.workloads())) {
    auto info = e.inspect(rec.container);
    if (!info || shim::is_active(info->state.status)) continue;
    auto w = parse_workload_text(rec.workload);
    auto key = state_.user_key(rec.user_id);
    if (!w || !key || !*key) continue;
    auto secrets = decrypt_secrets(*w, rec.secret_version, **key);
    if (!secrets) {
      done.push_back("workload " + std::to_string(rec.id) + ": " + secrets.error().message);
      continue;
    }
    engine::StartOptions so;
    so.secret_env = *secrets;
    auto started = e.start(rec.container, so);
    for (auto& s : *secrets) sodium_memzero(s.data(), s.size());
    done.push_back("workload " + std::to_string(rec.id) + (started ? ": started" : ": " + started.error().message));
  }
  return done;
}

}  // namespace tiffin::zos
