// Manifests and indexes: which of the two a document is, and its descriptors, every field
// type-checked (the bytes come from any registry or archive).
#include "image/manifest.hpp"

#include <nlohmann/json.hpp>

#include "common/text.hpp"
#include "image/digest.hpp"
#include "common/json_fields.hpp"

namespace tiffin::image {
namespace jf = tiffin::json_fields;
using json = nlohmann::json;

namespace {

enum class Kind { unknown, manifest, index };

Kind kind_of(std::string_view media_type) {
  if (media_type == media_type::oci_manifest || media_type == media_type::docker_manifest) return Kind::manifest;
  if (media_type == media_type::oci_index || media_type == media_type::docker_list) return Kind::index;
  return Kind::unknown;
}

// Content-Type without its parameters ("…+json; charset=utf-8").
std::string_view bare(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  return content_type;
}

Result<Platform> parse_descriptor_platform(const json& p, const std::string& where) {
  if (!p.is_object()) return jf::wrong(where, "platform", "an object");
  Platform out;
  out.architecture = TRY(jf::string(p, "architecture", where + ": platform", true));
  out.os = TRY(jf::string(p, "os", where + ": platform", true));
  out.variant = TRY(jf::string(p, "variant", where + ": platform"));
  return out;
}

Result<Descriptor> parse_descriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return fail(Errc::invalid_input, where + ": a descriptor must be an object");
  Descriptor d;
  d.media_type = TRY(jf::string(j, "mediaType", where, true));
  d.digest = TRY(jf::string(j, "digest", where, true));
  TRY_CTX(validate_digest(d.digest), where);
  auto size = TRY(jf::unsigned_number(j, "size", where));
  if (!size) return fail(Errc::invalid_input, where + ": field \"size\" is missing");
  d.size = *size;
  if (const json* p = jf::field(j, "platform")) d.platform = TRY(parse_descriptor_platform(*p, where));
  d.urls = TRY(jf::strings(j, "urls", where));
  return d;
}

nlohmann::ordered_json descriptor_json(const Descriptor& d) {
  nlohmann::ordered_json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (d.platform) {
    j["platform"] = {{"architecture", d.platform->architecture}, {"os", d.platform->os}};
    if (!d.platform->variant.empty()) j["platform"]["variant"] = d.platform->variant;
  }
  return j;
}

}  // namespace

std::string manifest_accept_header() {
  return std::string("Accept: ") + media_type::oci_index + ", " + media_type::docker_list + ", " + media_type::oci_manifest + ", " +
         media_type::docker_manifest;
}

Result<LayerCompression> layer_compression(const std::string& mt) {
  if (mt == "application/vnd.oci.image.layer.v1.tar" || mt == "application/vnd.oci.image.layer.nondistributable.v1.tar" ||
      mt == "application/vnd.docker.image.rootfs.diff.tar")
    return LayerCompression::none;
  if (mt == media_type::oci_layer_gzip || mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
      mt == media_type::docker_layer_gzip || mt == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip")
    return LayerCompression::gzip;
  if (mt == media_type::oci_layer_zstd || mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd")
    return LayerCompression::zstd;
  return fail(Errc::invalid_input, "unknown layer media type \"" + printable(mt) + "\"");
}

Result<ManifestDocument> parse_manifest(std::span<const uint8_t> body, const std::string& media_type) {
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return fail(Errc::invalid_input, "manifest: not valid JSON");
  if (!j.is_object()) return fail(Errc::invalid_input, "manifest: not a JSON object");
  const std::string where = "manifest";

  if (const json* v = jf::field(j, "schemaVersion")) {
    if (!v->is_number_integer()) return jf::wrong(where, "schemaVersion", "an integer");
    if (v->get<int64_t>() != 2)
      return fail(Errc::unsupported, "manifest: schema version " + std::to_string(v->get<int64_t>()) + " (only 2 is supported)");
  }
  std::string own = TRY(jf::string(j, "mediaType", where));
  std::string type(bare(media_type));
  Kind kind = kind_of(type);
  if (kind == Kind::unknown) {
    if (type.find("manifest.v1") != std::string::npos)
      return fail(Errc::unsupported, "manifest: Docker schema 1 (" + printable(type) + ") is not supported");
    type = own;
    kind = kind_of(own);
  } else if (!own.empty() && kind_of(own) != kind) {
    return fail(Errc::invalid_input, "manifest: served as " + printable(type) + " but its mediaType is " + printable(own));
  }
  if (kind == Kind::unknown) {
    if (!own.empty()) return fail(Errc::unsupported, "manifest: unknown media type \"" + printable(own) + "\"");
    // Neither header nor field (OCI allows both to be absent): the shape tells.
    if (jf::field(j, "manifests")) {
      kind = Kind::index;
      type = media_type::oci_index;
    } else if (jf::field(j, "config") || jf::field(j, "layers")) {
      kind = Kind::manifest;
      type = media_type::oci_manifest;
    } else {
      return fail(Errc::invalid_input, "manifest: neither an image manifest nor an index");
    }
  }

  ManifestDocument doc;
  if (kind == Kind::index) {
    Index idx{type, {}};
    const json* ms = jf::field(j, "manifests");
    if (!ms) return fail(Errc::invalid_input, "index: field \"manifests\" is missing");
    if (!ms->is_array()) return jf::wrong("index", "manifests", "a list");
    for (size_t i = 0; i < ms->size(); ++i)
      idx.manifests.push_back(TRY(parse_descriptor((*ms)[i], "index: manifests[" + std::to_string(i) + "]")));
    doc.index = std::move(idx);
    return doc;
  }
  Manifest m;
  m.media_type = type;
  const json* config = jf::field(j, "config");
  if (!config) return fail(Errc::invalid_input, "manifest: field \"config\" is missing");
  m.config = TRY(parse_descriptor(*config, "manifest: config"));
  const json* layers = jf::field(j, "layers");
  if (!layers) return fail(Errc::invalid_input, "manifest: field \"layers\" is missing");
  if (!layers->is_array()) return jf::wrong(where, "layers", "a list");
  for (size_t i = 0; i < layers->size(); ++i)
    m.layers.push_back(TRY(parse_descriptor((*layers)[i], "manifest: layers[" + std::to_string(i) + "]")));
  doc.manifest = std::move(m);
  return doc;
}

std::string manifest_to_json(const Manifest& m) {
  nlohmann::ordered_json j = {{"schemaVersion", 2}, {"mediaType", m.media_type}, {"config", descriptor_json(m.config)}};
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : m.layers) j["layers"].push_back(descriptor_json(l));
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tiffin::image
