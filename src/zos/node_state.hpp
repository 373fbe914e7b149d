// What a Zero-OS node remembers beside the engine's state: the users who may deploy (their
// ed25519 public keys), the admin token (only its hash), the signatures it has accepted (so a
// replayed request is refused) and its workloads with their signed results. One SQLite file,
// <root>/zos/node.db (0600), shared by `tiffin serve` and the CLI like the engine's state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/sqlite.hpp"

namespace tiffin::zos {

struct NodeUser {
  int64_t id = 0;
  std::string public_key;  // hex
};

struct WorkloadRecord {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string workload;    // the workload as deployed (secret values still encrypted), JSON
  std::string challenge;   // its signature challenge: a second deploy of the same is idempotent
  int secret_version = 0;  // how its secret environment is encrypted (0: sealed box, 1: ECDH)
  std::string container;   // the engine's container id; empty once deleted
  std::string result;      // the signed result, JSON
};

// How the admin token is kept: hex(BLAKE2b-256(token)).
std::string admin_token_hash(const std::string& token);

class NodeState {
 public:
  static Result<NodeState> open(const std::string& root);

  Result<void> add_user(const NodeUser& u);  // replaces the key of a known id
  Result<void> remove_user(int64_t id);      // not_found when unknown
  Result<std::vector<NodeUser>> users();
  Result<std::optional<std::string>> user_key(int64_t id);

  // A new random admin token (returned once, never stored: only its BLAKE2b-256 hash is).
  Result<std::string> rotate_admin_token();
  // Whether `token` is the admin token (constant time); false when none was ever made.
  Result<bool> admin_token_matches(const std::string& token);
  // Sets the hash of a token made elsewhere (a VM's host makes its guest node's token).
  Result<void> set_admin_token_hash(const std::string& hash);

  // Remembers a signature until `expires` (unix s); Errc::conflict "replayed" if it is known.
  // Expired ones are forgotten on the way.
  Result<void> remember_signature(const std::string& signature, int64_t expires);

  Result<void> put_workload(const WorkloadRecord& w);
  Result<std::optional<WorkloadRecord>> workload(int64_t id);
  Result<std::vector<WorkloadRecord>> workloads();
  Result<void> remove_workload(int64_t id);

  // Node policy settings (require-signed, …): "" when unset.
  Result<std::string> setting(const std::string& key);
  Result<void> set_setting(const std::string& key, const std::string& value);

 private:
  explicit NodeState(sql::Db db) : db_(std::move(db)) {}
  sql::Db db_;
};

}  // namespace tiffin::zos
