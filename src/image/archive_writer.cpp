#include "image/archive_writer.hpp"

#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "common/fd.hpp"
#include "image/reference.hpp"

namespace tiffin::image {

namespace {

// The archive's own entries: directories and files of known size, from memory or a file.
class TarOut {
 public:
  explicit TarOut(const ByteSink& sink) : tar_(sink) {}
  Result<void> open() { return tar_.open(); }
  Result<void> dir(const std::string& path) { return header(path, AE_IFDIR | 0755, 0); }
  Result<void> file(const std::string& path, std::span<const uint8_t> data) {
    TRY(header(path, AE_IFREG | 0644, data.size()));
    return tar_.data(data, path);
  }
  Result<void> file_from(const std::string& path, const std::string& source, uint64_t size) {
    UniqueFd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno("open " + source);
    TRY(header(path, AE_IFREG | 0644, size));
    Bytes buf(1 << 20);
    uint64_t left = size;
    while (left > 0) {
      size_t n = TRY(read_full(fd.get(), std::span(buf).first(static_cast<size_t>(std::min<uint64_t>(left, buf.size())))));
      if (n == 0) return fail(Errc::io, source + " is shorter than " + std::to_string(size) + " bytes");
      TRY(tar_.data({buf.data(), n}, path));
      left -= n;
    }
    return {};
  }
  Result<void> close() { return tar_.close(); }

 private:
  Result<void> header(const std::string& path, mode_t mode, uint64_t size) {
    UniqueArchiveEntry e = new_archive_entry();
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_mode(e.get(), mode);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    archive_entry_set_mtime(e.get(), 0, 0);
    return tar_.header(e.get(), path);
  }
  TarWriter tar_;
};

std::string blob_path(const std::string& digest) { return "blobs/sha256/" + digest.substr(7); }

nlohmann::ordered_json descriptor_json(const Descriptor& d) {
  return {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
}

}  // namespace

Result<void> write_image_archive(const std::vector<ArchivedImage>& images, const ByteSink& out) {
  TarOut tar(out);
  TRY(tar.open());
  TRY(tar.dir("blobs/"));
  TRY(tar.dir("blobs/sha256/"));
  std::set<std::string> written;
  nlohmann::ordered_json index = {
      {"schemaVersion", 2}, {"mediaType", media_type::oci_index}, {"manifests", nlohmann::ordered_json::array()}};
  nlohmann::ordered_json docker = nlohmann::ordered_json::array();
  for (const auto& [img, names] : images) {
    if (written.insert(img->layer.digest).second) TRY(tar.file_from(blob_path(img->layer.digest), img->layer_path, img->layer.size));
    if (written.insert(img->config.digest).second) TRY(tar.file(blob_path(img->config.digest), img->config_json));
    if (written.insert(img->manifest.digest).second) TRY(tar.file(blob_path(img->manifest.digest), img->manifest_json));
    std::vector<std::string> tags;
    for (const auto& n : names) {
      auto ref = TRY(parse_reference(n));
      tags.push_back(ref.familiar());
      auto d = descriptor_json(img->manifest);
      d["annotations"] = {{"io.containerd.image.name", ref.str()}, {"org.opencontainers.image.ref.name", ref.tag}};
      index["manifests"].push_back(d);
    }
    if (names.empty()) index["manifests"].push_back(descriptor_json(img->manifest));
    docker.push_back({{"Config", blob_path(img->config.digest)}, {"RepoTags", tags}, {"Layers", {blob_path(img->layer.digest)}}});
  }
  std::string layout = R"({"imageLayoutVersion":"1.0.0"})", index_text = index.dump(), docker_text = docker.dump();
  auto bytes = [](const std::string& s) { return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()); };
  TRY(tar.file("oci-layout", bytes(layout)));
  TRY(tar.file("index.json", bytes(index_text)));
  TRY(tar.file("manifest.json", bytes(docker_text)));
  return tar.close();
}

}  // namespace tiffin::image
