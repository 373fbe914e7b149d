// A Zero-OS node on top of the engine: its identity, the users who may deploy, and container
// workloads — deployed from a signed request, run from their flist, answered with a result the
// node signs. What `tiffin serve`'s /zos/v1 routes and the `tiffin node`/`tiffin deploy` verbs
// call; no HTTP here.
//
// A deploy is checked in this order, each refusal a signed error result:
//   the user is registered → the signature over the workload's challenge is theirs → the
//   workload is for this node (node_id) and recent (epoch within kRequestWindow) → an existing
//   workload of that id is the same one (idempotent: its result again, no effect) → the
//   signature was never used before (a replay, e.g. after a delete) → Zero-OS's validation →
//   secrets decrypt → container runs.
// Decrypted secrets go to the container's process only (engine::StartOptions::secret_env).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/engine.hpp"
#include "zos/node_identity.hpp"
#include "zos/node_state.hpp"
#include "zos/workload.hpp"
#include "zos/workload_result.hpp"

namespace tiffin::zos {

// How far a signed request's time may be from the node's clock (either way), and so how long
// its signature is remembered against replays.
inline constexpr int64_t kRequestWindow = 300;

struct DeployRequest {
  int64_t user_id = 0;
  std::string signature;   // hex(ed25519(user, signature_challenge(workload)))
  int secret_version = 0;  // 0: sealed boxes to the node key; 1: ECDH with the user's key
  ContainerWorkload workload;
  bool operator==(const DeployRequest&) const = default;
};
// {"user_id": N, "signature": "hex", "version": 0|1, "workload": {…}}
Result<DeployRequest> parse_deploy_request(std::string_view body);
nlohmann::json deploy_request_json(const DeployRequest& r);

// A deploy's answer: always a signed result; `error` says why when it is not ok (its kind
// chooses the HTTP status).
struct DeployOutcome {
  WorkloadResult result;
  std::optional<Error> error;
  // Whether the request was the user's: a refusal before is 401, a refusal after (an untrusted
  // flist: Errc::denied too) is 403.
  bool authenticated = false;
};

class ZosNode {
 public:
  static Result<ZosNode> open(const engine::EngineOptions& opts);

  const NodeIdentity& identity() const { return identity_; }
  NodeState& state() { return state_; }

  DeployOutcome deploy(const DeployRequest& r);
  // Stops and removes the workload's container (its rw layer and address go with it); the
  // signed "deleted" result. `user`: only that user's workload; nullopt: the admin.
  Result<WorkloadResult> remove(int64_t id, std::optional<int64_t> user);
  Result<WorkloadRecord> get(int64_t id, std::optional<int64_t> user);
  Result<std::vector<WorkloadRecord>> list(std::optional<int64_t> user);
  // After a reboot or a crash: workloads whose container is not running are started again,
  // their secrets decrypted again; one line each.
  Result<std::vector<std::string>> restore();

  // Checks a user's signed request (the API's non-deploy calls): `message` signed by the
  // registered key of `user`, `time` within the window, the signature never seen before.
  Result<void> check_user_request(int64_t user, int64_t time, const std::string& message, const std::string& signature);

 private:
  ZosNode(engine::EngineOptions opts, NodeIdentity id, NodeState st)
      : opts_(std::move(opts)), identity_(std::move(id)), state_(std::move(st)) {}
  Result<void> authenticate(const DeployRequest& r, const std::string& user_key) const;
  Result<WorkloadResult> deploy_checked(const DeployRequest& r, const std::string& user_key);
  Result<std::vector<std::string>> decrypt_secrets(const ContainerWorkload& w, int version, const std::string& user_key);
  Result<std::string> run_container(engine::Engine& e, const ContainerWorkload& w, const std::vector<std::string>& secrets);
  WorkloadResult signed_result(int64_t id, ResultState s, const std::string& message, const nlohmann::json& data) const;

  engine::EngineOptions opts_;
  NodeIdentity identity_;
  NodeState state_;
};

// A workload as the API and `tiffin workloads` show it: id, user, container, the workload with
// its secret values as "<encrypted>", the signed result, and (given an engine) the container's
// status.
nlohmann::json workload_view(engine::Engine* e, const WorkloadRecord& rec);

// The container a workload runs in.
std::string workload_container_name(int64_t id);
// Zero-OS's entrypoint is one string: split as a shell would split words (quotes, backslashes;
// no expansion). invalid_input for an unterminated quote.
Result<std::vector<std::string>> split_words(std::string_view s);

}  // namespace tiffin::zos
