// An image config blob (OCI or Docker) → what a container starts with (tiffin::ImageConfig),
// the layers' diff ids and the platform. Docker writes null for empty lists and maps.
#include <nlohmann/json.hpp>

#include "common/text.hpp"
#include "image/digest.hpp"
#include "common/json_fields.hpp"
#include "image/manifest.hpp"

namespace tiffin::image {
namespace jf = tiffin::json_fields;
using json = nlohmann::json;

namespace {

// ExposedPorts keys: "80/tcp", "53/udp"; docker reads a bare "80" as tcp.
Result<std::string> port_key(const std::string& key) {
  auto slash = key.find('/');
  std::string port = key.substr(0, slash), proto = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
  bool range_ok = true;
  for (const auto& p : split(port, '-')) range_ok = range_ok && parse_uint<uint16_t>(p).has_value();
  if (!range_ok || (proto != "tcp" && proto != "udp" && proto != "sctp"))
    return fail(Errc::invalid_input, "image config: invalid exposed port \"" + printable(key) + "\"");
  return port + "/" + proto;
}

}  // namespace

Result<ImageConfigDocument> parse_image_config(std::span<const uint8_t> body) {
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return fail(Errc::invalid_input, "image config: not valid JSON");
  if (!j.is_object()) return fail(Errc::invalid_input, "image config: not a JSON object");
  const std::string where = "image config";
  ImageConfigDocument doc;
  doc.created = TRY(jf::string(j, "created", where));
  if (std::string os = TRY(jf::string(j, "os", where)); !os.empty()) doc.platform.os = os;
  doc.platform.architecture = TRY(jf::string(j, "architecture", where));
  doc.platform.variant = TRY(jf::string(j, "variant", where));

  if (const json* rootfs = jf::field(j, "rootfs")) {
    if (!rootfs->is_object()) return jf::wrong(where, "rootfs", "an object");
    doc.diff_ids = TRY(jf::strings(*rootfs, "diff_ids", where + ": rootfs"));
    for (const auto& d : doc.diff_ids) TRY_CTX(validate_digest(d), where + ": rootfs.diff_ids");
  }

  doc.config.author = TRY(jf::string(j, "author", where));
  if (const json* c = jf::field(j, "config")) {
    if (!c->is_object()) return jf::wrong(where, "config", "an object");
    const std::string cw = where + ": config";
    ImageConfig& ic = doc.config;
    ic.entrypoint = TRY(jf::strings(*c, "Entrypoint", cw));
    ic.cmd = TRY(jf::strings(*c, "Cmd", cw));
    ic.env = TRY(jf::strings(*c, "Env", cw));
    ic.workdir = TRY(jf::string(*c, "WorkingDir", cw));
    ic.user = TRY(jf::string(*c, "User", cw));
    auto ports = TRY(jf::key_set(*c, "ExposedPorts", cw));
    for (const auto& k : ports) ic.ports.push_back(TRY(port_key(k)));
    ic.volumes = TRY(jf::key_set(*c, "Volumes", cw));
    ic.labels = TRY(jf::string_map(*c, "Labels", cw));
    ic.stop_signal = TRY(jf::string(*c, "StopSignal", cw));
    ic.onbuild = TRY(jf::strings(*c, "OnBuild", cw));
    ic.shell = TRY(jf::strings(*c, "Shell", cw));
    if (const json* h = jf::field(*c, "Healthcheck")) ic.healthcheck = TRY(healthcheck_from_docker(*h, "image config: Healthcheck"));
  }
  return doc;
}

}  // namespace tiffin::image
