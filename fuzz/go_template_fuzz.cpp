// Fuzzes docker's --format templates (api/go_template): any text is parsed, and what parses is
// run against a fixed inspect-like document, as rows and as a table header (docker's header
// functions), its output aligned by the tabwriter. Nothing may crash, hang or throw: hostile
// templates end in errors (nesting, steps and bytes are capped).
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "api/go_template.hpp"

using namespace tiffin;
using namespace tiffin::api;

namespace {

const nlohmann::json& document() {
  static const nlohmann::json d = nlohmann::json::parse(R"({
    "Id": "0123456789abcdef", "Name": "/web", "Created": "2024-01-02T03:04:05Z",
    "State": {"Status": "running", "Running": true, "Pid": 42, "ExitCode": 0, "Health": null, "F": 1.5},
    "Config": {"Cmd": ["sh", "-c", "echo hi"], "Entrypoint": null, "Env": ["A=b", "PATH=/bin"], "Labels": {"a": "1", "com.x": "y"}},
    "Mounts": [{"Type": "volume", "Name": "data", "Source": "/v", "Destination": "/d", "RW": true}],
    "NetworkSettings": {"Networks": {"tiffin": {"IPAddress": "10.89.0.2", "Aliases": ["web"]}}, "Ports": {}},
    "Num": [3, 1, 2], "Big": 18446744073709551615, "Neg": -9223372036854775808, "Empty": "", "Obj": {}
  })");
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = GoTemplate::parse(text);
  if (!t) {
    if (t.error().kind != Errc::invalid_input) std::abort();
    return 0;
  }
  TemplateMethods methods = {{"Label", [](const std::vector<nlohmann::json>& args) -> Result<nlohmann::json> {
                                if (args.size() != 1) return fail(Errc::invalid_input, "one argument");
                                return nlohmann::json(args[0].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
                              }}};
  ExecOptions opts;
  opts.methods = &methods;
  opts.max_steps = 200'000;
  opts.max_bytes = 1 << 20;
  std::string out;
  auto r = t->execute(document(), out, opts);
  if (!r && r.error().kind != Errc::invalid_input) std::abort();
  if (out.size() > opts.max_bytes) std::abort();
  opts.header = true;
  std::string header;
  (void)t->execute(document(), header, opts);
  (void)tabwrite(header + "\n" + out);
  return 0;
}
