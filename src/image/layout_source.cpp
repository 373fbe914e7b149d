#include "image/layout_source.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "flist/path.hpp"
#include "image/digest.hpp"

namespace tiffin::image {

namespace {

constexpr size_t kMaxJson = 16 << 20;  // index.json, manifest.json, manifests and configs

using Json = nlohmann::json;

Result<Bytes> read_small(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail_errno(path);
  if (!S_ISREG(st.st_mode)) return fail(Errc::invalid_input, path + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxJson) return fail(Errc::invalid_input, path + " is too large");
  return read_file(path);
}

Result<Json> read_json(const std::string& path) {
  Bytes data = TRY(read_small(path));
  auto j = Json::parse(data.begin(), data.end(), nullptr, false);
  if (j.is_discarded()) return fail(Errc::invalid_input, path + ": not valid JSON");
  return j;
}

// A path named inside the layout ("abc/layer.tar"): relative, no "..", below `dir`.
Result<std::string> inside(const std::string& dir, const std::string& rel) {
  if (rel.empty() || rel.front() == '/') return fail(Errc::invalid_input, "'" + rel + "' is not a path inside the archive");
  auto parts = TRY(split_path(rel));
  std::string out = dir;
  for (const auto& p : parts) out += "/" + p;
  return out;
}

// Streams a file through a digest check into `sink`.
Result<void> stream_verified(const std::string& path, const Descriptor& d, const BlobSink& sink) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return fail_errno("opening blob " + path);
  DigestVerifier v(d.digest);
  Bytes buf(1 << 20);
  for (;;) {
    size_t n = TRY(read_full(fd.get(), buf));
    if (n == 0) break;
    std::span<const uint8_t> chunk(buf.data(), n);
    v.update(chunk);
    if (v.size() > d.size) return fail(Errc::corrupt, "blob " + d.digest + " is longer than its " + std::to_string(d.size) + " bytes");
    TRY(sink(chunk));
    if (n < buf.size()) break;
  }
  if (v.size() != d.size)
    return fail(Errc::corrupt, "blob " + d.digest + " has " + std::to_string(v.size()) + " bytes, not " + std::to_string(d.size));
  return v.finish("blob " + d.digest);
}

// ---- OCI image layout

class OciLayoutSource final : public ImageSource {
 public:
  OciLayoutSource(std::string dir, Descriptor top, std::string name) : dir_(std::move(dir)), top_(std::move(top)), name_(std::move(name)) {}

  std::string describe() const override { return name_.empty() ? "image " + top_.digest + " in " + dir_ : name_ + " in " + dir_; }

  Result<ResolvedImage> resolve(const Platform& platform) override {
    Descriptor d = top_;
    for (int depth = 0; depth < 4; ++depth) {
      Bytes body = TRY(read_blob(d));
      auto doc = TRY_CTX(parse_manifest(body, d.media_type), describe());
      if (doc.manifest) return ResolvedImage{std::move(*doc.manifest), d.digest};
      d = TRY_CTX(select_platform(*doc.index, platform), describe());
    }
    return fail(Errc::invalid_input, describe() + ": indexes nested too deep");
  }

  Result<void> blob(const Descriptor& d, const BlobSink& sink) override {
    TRY(validate_digest(d.digest));
    return stream_verified(blob_path(d.digest), d, sink);
  }

 private:
  std::string blob_path(const std::string& digest) const { return dir_ + "/blobs/sha256/" + digest.substr(7); }

  Result<Bytes> read_blob(const Descriptor& d) {
    if (d.size > kMaxJson) return fail(Errc::invalid_input, describe() + ": manifest " + d.digest + " is too large");
    Bytes out;
    TRY(blob(d, [&](std::span<const uint8_t> data) -> Result<void> {
      out.insert(out.end(), data.begin(), data.end());
      return {};
    }));
    return out;
  }

  std::string dir_;
  Descriptor top_;
  std::string name_;
};

Result<std::vector<LayoutImage>> open_oci_layout(const std::string& dir) {
  Json index = TRY(read_json(dir + "/index.json"));
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array())
    return fail(Errc::invalid_input, dir + "/index.json has no 'manifests' list");
  std::vector<LayoutImage> out;
  for (const auto& m : index["manifests"]) {
    if (!m.is_object() || !m.contains("digest") || !m["digest"].is_string() || !m.contains("size") || !m["size"].is_number_unsigned())
      return fail(Errc::invalid_input, dir + "/index.json: a manifest entry without a digest and a size");
    Descriptor d;
    d.digest = m["digest"].get<std::string>();
    TRY_CTX(validate_digest(d.digest), dir + "/index.json");
    d.size = m["size"].get<uint64_t>();
    if (m.contains("mediaType") && m["mediaType"].is_string()) d.media_type = m["mediaType"].get<std::string>();
    LayoutImage img;
    // containerd and docker name the image in full; skopeo and umoci often give only a tag
    // ("latest"), which names no image: such an image is loaded untagged, as docker does.
    if (m.contains("annotations") && m["annotations"].is_object()) {
      const auto& a = m["annotations"];
      auto text = [&](const char* key) { return a.contains(key) && a[key].is_string() ? a[key].get<std::string>() : std::string(); };
      std::string full = text("io.containerd.image.name"), ref = text("org.opencontainers.image.ref.name");
      if (!full.empty()) img.names.push_back(full);
      else if (ref.find_first_of(":/") != std::string::npos) img.names.push_back(ref);
    }
    img.source = std::make_unique<OciLayoutSource>(dir, d, img.names.empty() ? "" : img.names.front());
    out.push_back(std::move(img));
  }
  return out;
}

// ---- docker archive

class DockerArchiveSource final : public ImageSource {
 public:
  DockerArchiveSource(std::string dir, std::string config_path, std::vector<std::string> layer_paths, std::string name)
      : dir_(std::move(dir)), config_path_(std::move(config_path)), layer_paths_(std::move(layer_paths)), name_(std::move(name)) {}

  std::string describe() const override { return (name_.empty() ? "an image" : name_) + " in the docker archive " + dir_; }

  Result<ResolvedImage> resolve(const Platform&) override {
    // A docker archive holds one platform, whatever it is; its layers are plain tars named by
    // path, so their digests are the config's diff_ids (checked as they are read).
    Bytes config = TRY(read_small(config_path_));
    auto parsed = TRY_CTX(parse_image_config(config), describe());
    if (parsed.diff_ids.size() != layer_paths_.size())
      return fail(Errc::invalid_input, describe() + ": " + std::to_string(layer_paths_.size()) + " layers but " +
                                           std::to_string(parsed.diff_ids.size()) + " diff ids in its config");
    ResolvedImage r;
    r.manifest.media_type = media_type::docker_manifest;
    r.manifest.config = {media_type::docker_config, sha256_digest(config), config.size(), std::nullopt, {}};
    paths_[r.manifest.config.digest] = config_path_;
    for (size_t i = 0; i < layer_paths_.size(); ++i) {
      struct stat st {};
      if (::stat(layer_paths_[i].c_str(), &st) != 0) return fail_errno(describe() + ": layer " + layer_paths_[i]);
      Descriptor d{"application/vnd.docker.image.rootfs.diff.tar", parsed.diff_ids[i], static_cast<uint64_t>(st.st_size), std::nullopt, {}};
      TRY_CTX(validate_digest(d.digest), describe());
      paths_[d.digest] = layer_paths_[i];
      r.manifest.layers.push_back(std::move(d));
    }
    return r;
  }

  Result<void> blob(const Descriptor& d, const BlobSink& sink) override {
    auto it = paths_.find(d.digest);
    if (it == paths_.end()) return fail(Errc::not_found, describe() + " has no blob " + d.digest);
    return stream_verified(it->second, d, sink);
  }

 private:
  std::string dir_, config_path_;
  std::vector<std::string> layer_paths_;
  std::string name_;
  std::map<std::string, std::string> paths_;
};

Result<std::vector<LayoutImage>> open_docker_archive(const std::string& dir) {
  Json manifest = TRY(read_json(dir + "/manifest.json"));
  if (!manifest.is_array()) return fail(Errc::invalid_input, dir + "/manifest.json is not a list");
  std::vector<LayoutImage> out;
  for (const auto& e : manifest) {
    if (!e.is_object() || !e.contains("Config") || !e["Config"].is_string() || !e.contains("Layers") || !e["Layers"].is_array())
      return fail(Errc::invalid_input, dir + "/manifest.json: an entry without Config and Layers");
    std::string config = TRY(inside(dir, e["Config"].get<std::string>()));
    std::vector<std::string> layers;
    for (const auto& l : e["Layers"]) {
      if (!l.is_string()) return fail(Errc::invalid_input, dir + "/manifest.json: a layer that is not a path");
      layers.push_back(TRY(inside(dir, l.get<std::string>())));
    }
    LayoutImage img;
    if (e.contains("RepoTags") && e["RepoTags"].is_array())
      for (const auto& t : e["RepoTags"])
        if (t.is_string()) img.names.push_back(t.get<std::string>());
    img.source = std::make_unique<DockerArchiveSource>(dir, config, std::move(layers), img.names.empty() ? "" : img.names.front());
    out.push_back(std::move(img));
  }
  return out;
}

// ---- unpacking archives

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

// `target` of a link in the entry `entry`, as a path from the archive's root, or an error when
// it leaves the archive.
Result<std::string> link_target(const std::string& entry, const std::string& target, bool symbolic) {
  std::vector<std::string> parts;
  if (symbolic) {
    if (target.starts_with("/")) return fail(Errc::invalid_input, "archive entry '" + entry + "' links to an absolute path");
    parts = TRY(split_path(entry));
    if (!parts.empty()) parts.pop_back();  // relative to the link's directory
  }
  size_t i = 0;
  while (i <= target.size()) {
    size_t j = std::min(target.find('/', i), target.size());
    std::string p = target.substr(i, j - i);
    if (p == "..") {
      if (parts.empty()) return fail(Errc::invalid_input, "archive entry '" + entry + "' links outside the archive");
      parts.pop_back();
    } else if (!p.empty() && p != ".") {
      parts.push_back(p);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

}  // namespace

Result<std::vector<LayoutImage>> open_image_layout(const std::string& dir) {
  if (::access((dir + "/index.json").c_str(), F_OK) == 0) return open_oci_layout(dir);
  if (::access((dir + "/manifest.json").c_str(), F_OK) == 0) return open_docker_archive(dir);
  return fail(Errc::invalid_input, dir + " is neither an OCI layout (index.json) nor a docker archive (manifest.json)");
}

Result<void> unpack_image_archive(int fd, const std::string& dir) {
  std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_fd(a.get(), fd, 1 << 16) != ARCHIVE_OK)
    return fail(Errc::invalid_input, std::string("not an image archive: ") + (archive_error_string(a.get()) ?: "unreadable"));
  std::vector<std::pair<std::string, std::string>> links;  // entry → target (both archive paths)
  archive_entry* e = nullptr;
  Bytes buf(1 << 20);
  for (;;) {
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN)
      return fail(Errc::invalid_input, std::string("reading the archive: ") + (archive_error_string(a.get()) ?: "malformed"));
    const char* raw = archive_entry_pathname(e);
    if (!raw) return fail(Errc::invalid_input, "archive entry without a name");
    std::string entry = raw;
    std::string path = TRY_CTX(inside(dir, entry), "archive entry");
    if (path == dir) continue;  // "./"
    if (const char* hl = archive_entry_hardlink(e)) {
      links.emplace_back(entry, TRY(link_target(entry, hl, false)));
      continue;
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR:
        if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("mkdir " + path);
        break;
      case AE_IFREG: {
        // Parents first (archives may omit directory entries); O_EXCL: an entry given twice is refused.
        auto parts = TRY(split_path(entry));
        std::string p = dir;
        for (size_t i = 0; i + 1 < parts.size(); ++i) {
          p += "/" + parts[i];
          if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("mkdir " + p);
        }
        UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!out) return fail_errno("archive entry '" + entry + "'");
        for (;;) {
          la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
          if (n < 0) return fail(Errc::invalid_input, "archive entry '" + entry + "': " + (archive_error_string(a.get()) ?: "unreadable"));
          if (n == 0) break;
          TRY(write_all(out.get(), {buf.data(), static_cast<size_t>(n)}));
        }
        break;
      }
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (!target) return fail(Errc::invalid_input, "archive entry '" + entry + "': a symlink without a target");
        links.emplace_back(entry, TRY(link_target(entry, target, true)));
        break;
      }
      default: return fail(Errc::invalid_input, "archive entry '" + entry + "' is neither a file, a directory nor a link");
    }
  }
  // Links last: docker archives link a layer to one that comes later in the archive.
  for (const auto& [entry, target] : links) {
    std::string from = TRY(inside(dir, target)), to = TRY(inside(dir, entry));
    struct stat st {};
    if (::lstat(from.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      return fail(Errc::invalid_input, "archive entry '" + entry + "' links to '" + target + "', which is not a file in the archive");
    if (::link(from.c_str(), to.c_str()) != 0) return fail_errno("archive entry '" + entry + "'");
  }
  return {};
}

}  // namespace tiffin::image
