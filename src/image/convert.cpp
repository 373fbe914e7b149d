#include "image/convert.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>

#include "common/fd.hpp"
#include "common/layer_progress.hpp"
#include "flist/flist_file.hpp"
#include "flist/pack.hpp"
#include "image/digest.hpp"

namespace tiffin::image {

namespace fs = std::filesystem;

namespace {

// A suffix no other conversion uses at the same time: the pid alone is not, when one process
// (the hub) converts several images at once on threads that share the spool and the cache.
std::string unique_suffix() {
  static std::atomic<uint64_t> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

constexpr uint64_t kMaxConfigSize = 8 << 20;  // image configs are kilobytes; refuse absurd ones

std::string hex_of(const std::string& digest) { return digest.substr(digest.find(':') + 1); }

Result<Bytes> fetch_small_blob(ImageSource& source, const Descriptor& d, const std::string& what) {
  if (d.size > kMaxConfigSize)
    return fail(Errc::invalid_input, what + " " + d.digest + " is " + std::to_string(d.size) + " bytes: too large");
  Bytes out;
  TRY_CTX(source.blob(d,
              [&](std::span<const uint8_t> data) -> Result<void> {
                if (out.size() + data.size() > kMaxConfigSize) return fail(Errc::invalid_input, what + " too large");
                out.insert(out.end(), data.begin(), data.end());
                return {};
              }),
      "fetching " + what + " " + d.digest);
  return out;
}

// A layer's compressed bytes, downloaded into the spool: an unnamed file (O_TMPFILE), so that
// a pull killed half way leaves nothing behind.
struct Spooled {
  UniqueFd fd;
  uint64_t bytes = 0;
};

Result<Spooled> spool_blob(ImageSource& source, const Descriptor& d, const std::string& spool_dir, LayerProgress& progress, size_t line) {
  Spooled s{UniqueFd(::open(spool_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)), 0};
  if (!s.fd) return fail_errno("creating a file in " + spool_dir);
  progress.state(line, "Downloading");
  auto got = source.blob(d, [&](std::span<const uint8_t> data) -> Result<void> {
    TRY(write_all(s.fd.get(), data));
    s.bytes += data.size();
    progress.bytes(line, s.bytes, d.size);
    return {};
  });
  if (!got) {
    progress.state(line, "Failed");
    return std::unexpected(std::move(got).error().context("downloading layer " + d.digest));
  }
  progress.state(line, "Download complete");
  return s;
}

}  // namespace

std::string next_layer_chain(const std::string& chain, const std::string& digest) {
  std::string text = chain.empty() ? digest : chain + " " + digest;
  return sha256_digest({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

std::string layer_chain_id(const std::vector<Descriptor>& layers, size_t n) {
  std::string chain;
  for (size_t i = 0; i < n && i < layers.size(); ++i) chain = next_layer_chain(chain, layers[i].digest);
  return chain;
}

Result<ConvertedImage> convert_image(ImageSource& source, const Platform& platform, BlockStore& store, const ConvertOptions& opts) {
  ResolvedImage resolved = TRY(source.resolve(platform));
  const Manifest& m = resolved.manifest;
  for (const auto& l : m.layers) {
    TRY(validate_digest(l.digest));
    TRY_CTX(layer_compression(l.media_type), "layer " + l.digest);
  }
  TRY(validate_digest(m.config.digest));
  Bytes config_json = TRY(fetch_small_blob(source, m.config, "image config"));
  ConvertedImage out;
  out.config = TRY_CTX(parse_image_config(config_json), "image config " + m.config.digest);
  out.manifest_digest = resolved.digest;
  out.layers = m.layers.size();

  std::error_code ec;
  std::string spool = opts.cache_dir + "/spool";
  fs::create_directories(spool, ec);
  if (ec) return fail(Errc::io, "creating " + spool + ": " + ec.message());

  // The longest chain of these layers converted before.
  size_t start = 0;
  for (size_t n = m.layers.size(); n > 0; --n) {
    std::string cached = opts.cache_dir + "/" + hex_of(layer_chain_id(m.layers, n)) + ".fl";
    if (::access(cached.c_str(), F_OK) != 0) continue;
    auto tree = load_flist(cached);
    if (!tree) continue;  // unreadable: converted again, and replaced
    out.tree = std::move(*tree);
    out.tree.routes.clear();
    start = n;
    break;
  }
  out.layers_reused = start;

  // docker's lines: a layer's short digest and what is happening to it.
  std::vector<std::string> names;
  for (const auto& l : m.layers) names.push_back(hex_of(l.digest).substr(0, 12));
  LayerProgress progress(std::move(names), opts.progress);
  for (size_t i = 0; i < start; ++i) progress.state(i, "Already exists");

  // Downloads run ahead of the conversion, a few at once; layers are applied in order.
  std::vector<std::future<Result<Spooled>>> downloads(m.layers.size());
  size_t next_download = start;
  // Whatever happens, every download is waited for and its file removed.
  auto drain = [&](size_t from) {
    for (size_t i = from; i < next_download; ++i)
      if (downloads[i].valid()) (void)downloads[i].get();
  };

  size_t window = std::max(1u, opts.parallel_downloads);
  for (size_t i = start; i < m.layers.size(); ++i) {
    while (next_download < m.layers.size() && next_download < i + window) {
      const Descriptor& d = m.layers[next_download];
      downloads[next_download] = std::async(std::launch::async,
          [&source, d, spool, &progress, line = next_download] { return spool_blob(source, d, spool, progress, line); });
      ++next_download;
    }
    auto spooled = downloads[i].get();
    if (!spooled) {
      drain(i + 1);
      return std::unexpected(spooled.error());
    }
    out.bytes_downloaded += spooled->bytes;
    UniqueFd fd = std::move(spooled->fd);
    if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
      drain(i + 1);
      return fail_errno("rewinding the spooled layer " + m.layers[i].digest);
    }
    progress.state(i, "Converting");
    PackOptions po;
    po.progress = false;
    po.oci_layer = true;
    auto packed = pack_tar(fd.get(), "layer " + m.layers[i].digest, store, out.tree, po);
    if (!packed) {
      drain(i + 1);
      return std::unexpected(packed.error());
    }
    out.bytes_converted += packed->bytes;
    progress.state(i, "Pull complete");
    // Keep the chain so far for the next image on these layers (best effort: a cache).
    std::string cached = opts.cache_dir + "/" + hex_of(layer_chain_id(m.layers, i + 1)) + ".fl";
    std::string tmp = cached + "." + unique_suffix() + ".tmp";
    Tree snapshot = out.tree;
    settle_hardlinks(snapshot);
    if (save_flist(tmp, snapshot) && ::rename(tmp.c_str(), cached.c_str()) == 0) continue;
    ::unlink(tmp.c_str());
  }
  progress.finish();
  settle_hardlinks(out.tree);
  out.tree.config = out.config.config;
  return out;
}

}  // namespace tiffin::image
