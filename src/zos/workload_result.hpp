// What a node reports about a workload: its state, a message, and data (for a container, its id
// and addresses), signed by the node's key so the explorer and the user can tell it came from the
// node. The signature covers byte(state) ‖ message ‖ data_json, as Zero-OS's provision.Result
// signs it; data_json is kept as the exact bytes signed and never re-serialised (another JSON
// writer's key order or spacing would break the signature).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "zos/node_identity.hpp"

namespace tiffin::zos {

// tfexplorer's ResultStateEnum; the number is the first byte signed.
enum class ResultState : uint8_t { error = 0, ok = 1, deleted = 2 };

std::string_view state_name(ResultState s);  // "error", "ok", "deleted"
Result<ResultState> parse_state(std::string_view name);

struct WorkloadResult {
  int64_t workload_id = 0;
  std::string node_id;
  ResultState state = ResultState::error;
  std::string message;
  std::string data_json;  // the exact bytes signed: compact JSON of {"id":…,"ipv4":…,"ipv6":…}
  int64_t epoch = 0;      // unix seconds
  std::string signature;  // hex, 128 characters
  bool operator==(const WorkloadResult&) const = default;
};

// byte(state) ‖ message ‖ data_json.
std::string result_bytes(const WorkloadResult& r);
// Sets r.signature: the node's signature of result_bytes(r).
void sign_result(WorkloadResult& r, const NodeIdentity& node);
// Errc::denied when the signature is not the node's over these bytes (any field signed changed,
// or another key); Errc::invalid_input when the key or signature is not hex of the right size.
Result<void> verify_result(const WorkloadResult& r, std::string_view node_public_hex);

// {"workload_id","node_id","state":"ok","message","data":{data_json parsed, null if it does not
// parse},"data_json":"…","epoch","signature"}; "data" is for readers, "data_json" is what counts.
nlohmann::json result_json(const WorkloadResult& r);
// Reads result_json's form (state also as tfexplorer's number 0/1/2, epoch also as RFC 3339).
// Uses data_json, a string, and ignores "data": the signed bytes are never rebuilt from a parse.
Result<WorkloadResult> parse_result(const nlohmann::json& j);

}  // namespace tiffin::zos
