#include "zos/workload_result.hpp"

#include "common/text.hpp"
#include "zos/epoch.hpp"
#include "zos/json_read.hpp"

namespace tiffin::zos {

using json = nlohmann::json;

std::string_view state_name(ResultState s) {
  switch (s) {
    case ResultState::error: return "error";
    case ResultState::ok: return "ok";
    case ResultState::deleted: return "deleted";
  }
  return "error";
}

Result<ResultState> parse_state(std::string_view name) {
  if (name == "error") return ResultState::error;
  if (name == "ok") return ResultState::ok;
  if (name == "deleted") return ResultState::deleted;
  return fail(Errc::invalid_input, "state: '" + printable(name) + "' is not a result state (error, ok or deleted)");
}

std::string result_bytes(const WorkloadResult& r) {
  std::string out;
  out.reserve(1 + r.message.size() + r.data_json.size());
  out.push_back(static_cast<char>(r.state));
  out += r.message;
  out += r.data_json;
  return out;
}

void sign_result(WorkloadResult& r, const NodeIdentity& node) { r.signature = node.sign_hex(result_bytes(r)); }

Result<void> verify_result(const WorkloadResult& r, std::string_view node_public_hex) {
  TRY_CTX(verify_hex_signature(node_public_hex, result_bytes(r), r.signature), "result of workload " + std::to_string(r.workload_id));
  return {};
}

json result_json(const WorkloadResult& r) {
  json data = json::parse(r.data_json, nullptr, false);
  if (data.is_discarded()) data = nullptr;
  return {{"workload_id", r.workload_id}, {"node_id", r.node_id}, {"state", std::string(state_name(r.state))}, {"message", r.message},
      {"data", std::move(data)}, {"data_json", r.data_json}, {"epoch", r.epoch}, {"signature", r.signature}};
}

Result<WorkloadResult> parse_result(const json& j) {
  using json_read::read;
  if (!j.is_object()) return fail(Errc::invalid_input, "workload result: expected a JSON object");
  WorkloadResult r;
  TRY(read(j, "workload_id", "", r.workload_id));
  TRY(read(j, "node_id", "", r.node_id));
  if (const json* s = json_read::find(j, "state")) {
    if (s->is_string()) {
      r.state = TRY(parse_state(s->get<std::string>()));
    } else if (s->is_number_integer() && *s >= 0 && *s <= 2) {
      r.state = static_cast<ResultState>(s->get<int>());
    } else {
      return json_read::expected("state", "\"error\", \"ok\" or \"deleted\"");
    }
  }
  TRY(read(j, "message", "", r.message));
  if (const json* d = json_read::find(j, "data_json"); d && !d->is_string())
    return json_read::expected("data_json", "a string (the bytes the node signed)");
  TRY(read(j, "data_json", "", r.data_json));
  if (const json* e = json_read::find(j, "epoch")) r.epoch = TRY(epoch_from_json(*e, "epoch"));
  TRY(read(j, "signature", "", r.signature));
  return r;
}

}  // namespace tiffin::zos
