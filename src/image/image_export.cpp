#include "image/image_export.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "flist/tar_export.hpp"
#include "image/compressor.hpp"
#include "image/digest.hpp"

namespace tiffin::image {

namespace {

const char* layer_media_type(LayerCompression c) {
  switch (c) {
    case LayerCompression::gzip: return media_type::oci_layer_gzip;
    case LayerCompression::zstd: return media_type::oci_layer_zstd;
    case LayerCompression::none: break;
  }
  return "application/vnd.oci.image.layer.v1.tar";
}

}  // namespace

Bytes image_config_json(const ImageConfig& c, const std::vector<std::string>& diff_ids, const Platform& platform) {
  auto set_of = [](const std::vector<std::string>& keys) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (const auto& k : keys) o[k] = nlohmann::ordered_json::object();
    return o;
  };
  nlohmann::ordered_json cfg = nlohmann::ordered_json::object();
  if (!c.user.empty()) cfg["User"] = c.user;
  if (!c.ports.empty()) cfg["ExposedPorts"] = set_of(c.ports);
  if (!c.env.empty()) cfg["Env"] = c.env;
  if (!c.entrypoint.empty()) cfg["Entrypoint"] = c.entrypoint;
  if (!c.cmd.empty()) cfg["Cmd"] = c.cmd;
  if (!c.volumes.empty()) cfg["Volumes"] = set_of(c.volumes);
  if (!c.workdir.empty()) cfg["WorkingDir"] = c.workdir;
  if (!c.labels.empty()) cfg["Labels"] = c.labels;
  if (!c.stop_signal.empty()) cfg["StopSignal"] = c.stop_signal;
  if (!c.onbuild.empty()) cfg["OnBuild"] = c.onbuild;
  if (!c.shell.empty()) cfg["Shell"] = c.shell;
  if (!c.healthcheck.test.empty())
    cfg["Healthcheck"] = {{"Test", c.healthcheck.test}, {"Interval", c.healthcheck.interval_ns}, {"Timeout", c.healthcheck.timeout_ns},
        {"StartPeriod", c.healthcheck.start_period_ns}, {"Retries", c.healthcheck.retries}};
  if (c.healthcheck.start_interval_ns) cfg["Healthcheck"]["StartInterval"] = c.healthcheck.start_interval_ns;
  nlohmann::ordered_json j = {{"architecture", platform.architecture}, {"os", platform.os}};
  if (!platform.variant.empty()) j["variant"] = platform.variant;
  if (!c.author.empty()) j["author"] = c.author;
  j["config"] = cfg;
  j["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  std::string text = j.dump();
  return Bytes(text.begin(), text.end());
}

Result<ExportedImage> export_image(
    const Tree& tree, BlockStore& store, const ImageConfig& config, LayerCompression compression, const std::string& spool_dir) {
  static std::atomic<unsigned> counter{0};
  ExportedImage out;
  out.layer_path = spool_dir + "/export-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".layer";
  UniqueFd fd(::open(out.layer_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return fail_errno("creating " + out.layer_path);
  auto made = [&]() -> Result<void> {
    Sha256 plain, blob;
    uint64_t blob_size = 0;
    auto compressor = TRY(Compressor::open(compression, [&](std::span<const uint8_t> data) -> Result<void> {
      blob.update(data);
      blob_size += data.size();
      return write_all(fd.get(), data);
    }));
    TRY(export_tar(tree, store, [&](std::span<const uint8_t> data) -> Result<void> {
      plain.update(data);
      return compressor->write(data);
    }));
    TRY(compressor->finish());
    out.diff_id = plain.digest();
    out.layer = {layer_media_type(compression), blob.digest(), blob_size, std::nullopt, {}};
    return {};
  }();
  if (!made) {
    ::unlink(out.layer_path.c_str());
    return std::unexpected(made.error());
  }
  Platform platform = host_platform();
  out.config_json = image_config_json(config, {out.diff_id}, platform);
  out.config = {media_type::oci_config, sha256_digest(out.config_json), out.config_json.size(), std::nullopt, {}};
  Manifest m{media_type::oci_manifest, out.config, {out.layer}};
  std::string text = manifest_to_json(m);
  out.manifest_json.assign(text.begin(), text.end());
  out.manifest = {media_type::oci_manifest, sha256_digest(out.manifest_json), out.manifest_json.size(), std::nullopt, {}};
  return out;
}

}  // namespace tiffin::image
