// OCI and Docker image manifests, indexes (manifest lists) and image configs, parsed from JSON
// (untrusted: any registry or archive). Media types known:
//   application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json
//   application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json
//   layers: application/vnd.oci.image.layer.v1.tar{,+gzip,+zstd},
//           application/vnd.docker.image.rootfs.diff.tar.gzip (and the .foreign variants)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/hash.hpp"
#include "flist/image_config.hpp"

namespace tiffin::image {

namespace media_type {
inline constexpr const char* oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* docker_layer_gzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
}  // namespace media_type

// The Accept header a client sends for a manifest: every type above.
std::string manifest_accept_header();

struct Platform {
  std::string os = "linux", architecture, variant;  // architecture as Go names it: amd64, arm64, arm
  std::string str() const;                          // "linux/arm64/v8"
};
Platform host_platform();
// uname's machine as Go names it: x86_64 → amd64, aarch64 → arm64/v8, armv7l → arm/v7.
Platform platform_from_machine(std::string_view machine);
// "linux/amd64", "linux/arm/v7", "arm64" (os defaults to linux).
Result<Platform> parse_platform(std::string_view text);

struct Descriptor {
  std::string media_type, digest;
  uint64_t size = 0;
  std::optional<Platform> platform;  // index entries
  std::vector<std::string> urls;
};

enum class LayerCompression { none, gzip, zstd };
// Errc::invalid_input "unknown layer media type …" for anything that is not a layer tar.
Result<LayerCompression> layer_compression(const std::string& media_type);

struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct Index {
  std::string media_type;
  std::vector<Descriptor> manifests;
};

// `media_type` is the Content-Type the document came with (may be empty: then its own
// mediaType field, or its shape, tells). Exactly one of the two is set on success.
struct ManifestDocument {
  std::optional<Manifest> manifest;
  std::optional<Index> index;
};
Result<ManifestDocument> parse_manifest(std::span<const uint8_t> json, const std::string& media_type);

// The entry of an index that runs on `want`: os and architecture must match; the variant must
// match when both have one (arm64 defaults to v8, arm to v7, as containerd's matcher does).
Result<Descriptor> select_platform(const Index& index, const Platform& want);

// An image config blob (OCI "application/vnd.oci.image.config.v1+json" or Docker's): what the
// flist's image config keeps, plus the diff ids and the platform.
struct ImageConfigDocument {
  ImageConfig config;
  std::vector<std::string> diff_ids;  // rootfs.diff_ids, "sha256:…" of each uncompressed layer
  Platform platform;
  std::string created;
};
Result<ImageConfigDocument> parse_image_config(std::span<const uint8_t> json);

// JSON for manifests and configs tiffin writes itself (save and push).
std::string manifest_to_json(const Manifest& m);

}  // namespace tiffin::image
