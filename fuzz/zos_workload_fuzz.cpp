// Fuzzes what a Zero-OS explorer or user hands a node: container workloads (JSON text) and the
// bytes their owners sign, and workload results. Nothing may crash or throw, and what parses
// must survive its own round trip: workload_json reads back equal, with the same challenge.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "zos/workload.hpp"
#include "zos/workload_result.hpp"
#include "zos/workload_validation.hpp"

using namespace tiffin;
using namespace tiffin::zos;

namespace {

struct AnyNode final : NodeFacts {
  std::optional<std::string> network_subnet(const std::string& id) const override {
    if (id.empty()) return std::nullopt;
    return id[0] == '6' ? "fd00::/64" : "10.1.3.0/24";
  }
  bool volume_exists(const std::string& id) const override { return id.size() % 2 == 0; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto w = parse_workload_text(text);
  if (!w) return 0;
  std::string challenge = signature_challenge(*w);
  auto again = parse_workload(workload_json(*w));
  if (!again || *again != *w || signature_challenge(*again) != challenge) std::abort();
  (void)workload_json(*w).dump();
  (void)validate_workload(*w, AnyNode{});
  for (const auto& n : w->network_connection) (void)go_ip_string(n.ipaddress);
  // The same document as a result.
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (auto r = parse_result(j); r) {
    auto back = parse_result(result_json(*r));
    if (!back || *back != *r || result_bytes(*back) != result_bytes(*r)) std::abort();
  }
  return 0;
}
