#include "snapshotter/hub_images.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "common/fd.hpp"
#include "engine/flist_mounts.hpp"
#include "hub/hub_client.hpp"
#include "hub/hub_convert.hpp"
#include "hub/push.hpp"
#include "image/convert.hpp"
#include "image/digest.hpp"
#include "image/reference.hpp"

namespace fs = std::filesystem;

namespace tiffin::snapshotter {
namespace {

bool is_sha256_digest(const std::string& d) { return d.starts_with("sha256:") && image::validate_digest(d).has_value(); }

}  // namespace

HubImages::HubImages(HubImagesOptions opts) : opts_(std::move(opts)) {
  // It prefixes paths: of the mounts' stores and profile reports, not only of HubClient's requests.
  while (opts_.hub_url.ends_with('/')) opts_.hub_url.pop_back();
  std::error_code ec;
  fs::create_directories(opts_.root + "/flists", ec);
  fs::create_directories(opts_.root + "/mounts", ec);
  fs::create_directories(opts_.root + "/logs", ec);
  // No fetch is in flight yet: what an interrupted one left (a pull's temp file and its journal,
  // a name whose flist never came) goes. Flists are kept: their snapshots may still use them.
  for (fs::directory_iterator it(opts_.root + "/flists", ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    bool flist = p.extension() == ".fl";
    bool name_of_flist = p.extension() == ".name" && fs::exists(fs::path(p).replace_extension(".fl"));
    if (!flist && !name_of_flist) fs::remove(p, ec);
  }
}

std::shared_ptr<std::mutex> HubImages::lock_for(const std::string& key) {
  std::lock_guard lock(mu_);
  std::erase_if(locks_, [](const auto& entry) { return entry.second.expired(); });  // images gone since
  auto m = locks_[key].lock();
  if (!m) {
    m = std::make_shared<std::mutex>();
    locks_[key] = m;
  }
  return m;
}

Result<std::optional<LazyLayer>> HubImages::resolve(const Labels& labels, const std::optional<std::string>& parent_chain) {
  std::string ref = label_of(labels, kImageRefLabel), manifest = label_of(labels, kManifestDigestLabel);
  std::string layer = label_of(labels, kLayerDigestLabel);
  if (ref.empty() || manifest.empty() || label_of(labels, kImageLayersLabel).empty()) return std::nullopt;  // not a CRI pull
  if (!is_sha256_digest(manifest)) return fail(Errc::invalid_input, "manifest digest label is not a sha256 digest: " + manifest);
  LazyLayer out{.image = manifest.substr(7)};
  if (parent_chain && is_sha256_digest(layer)) {
    out.chain = image::next_layer_chain(*parent_chain, layer);
    out.chain_key = "chain-" + out.chain.substr(7);
  }
  auto guard = lock_for(out.image);
  std::lock_guard lock(*guard);
  if (::access(flist_path(out.image).c_str(), R_OK) == 0) return out;
  // The hub converts the exact manifest containerd resolved, not whatever the tag names now.
  image::Reference r = TRY(image::parse_reference(ref));
  r.digest = manifest;
  if (!TRY(fetch(r.str(), out.image))) return std::nullopt;
  return out;
}

Result<void> HubImages::fetch_chain(const std::string& key) {
  if (::access(flist_path(key).c_str(), R_OK) == 0) return {};
  hub::HubClient hub(opts_.hub_url, "");
  auto data = hub.get_layer_chain(key.substr(6));
  if (!data) return std::unexpected(std::move(data.error()).context("fetching layer chain " + key.substr(6) + " from " + opts_.hub_url));
  return write_file_atomic(flist_path(key), std::span<const uint8_t>(data->data(), data->size()), 0600);
}

Result<std::optional<std::string>> HubImages::fetch(const std::string& image, const std::string& key) {
  hub::FlistRef name = TRY(hub::flist_ref_for_image(opts_.user, image));
  hub::HubLocation at{.base = opts_.hub_url, .ref = name};
  // pull_flist checks what the hub sent and brings along the prefetch profile the hub learnt
  // from the nodes that ran the image before (the mount prefetches those blocks). A minute per
  // try: a 256 MiB flist takes 21 s at 100 Mbit/s, and a stalled hub must not hold a pull for
  // long before the layers are unpacked instead.
  const hub::PullOptions pull{.timeout = std::chrono::seconds(60), .mode = 0600};
  // Whether the flist came (false: the hub has none, and may not be asked to convert).
  auto pull_or_convert = [&]() -> Result<bool> {
    auto pulled = hub::pull_flist(at, flist_path(key), pull);
    if (!pulled && pulled.error().kind == Errc::not_found) {
      if (opts_.only_existing || opts_.token.empty()) {
        spdlog::info("{}: the hub has no flist {}: unpacking it as usual", image, name.str());
        return false;
      }
      spdlog::info("{}: converting it on the hub as {}", image, name.str());
      TRY(hub::HubClient(opts_.hub_url, opts_.token).convert(name, image));
      pulled = hub::pull_flist(at, flist_path(key), pull);
    }
    if (!pulled) return std::unexpected(std::move(pulled.error()));
    return true;
  };
  // The name first: once the flist is in place the image counts as fetched. Unless the flist
  // comes, the name goes again (after a crash: at the next start).
  TRY(write_file_atomic(hub_name_path(key), name.str(), 0600));
  auto got = pull_or_convert();
  if (!got || !*got) {
    std::error_code ec;
    fs::remove(hub_name_path(key), ec);
  }
  if (!TRY(std::move(got))) return std::nullopt;
  spdlog::info("{}: served lazily from {}/{}", image, opts_.hub_url, name.str());
  return key;
}

Result<std::string> HubImages::mount(const std::string& key) {
  std::string mp = mountpoint(key);
  bool chain = key.starts_with("chain-");
  if (chain) {
    auto guard = lock_for(key);
    std::lock_guard lock(*guard);
    TRY(fetch_chain(key));
  }
  engine::FlistMountPaths m{.tiffin_binary = opts_.tiffin_binary,
      .flist = flist_path(key),
      .mountpoint = mp,
      .cache_dir = opts_.cache_dir,
      .log_file = opts_.root + "/logs/" + key + ".log",
      .root = opts_.root,
      .stores = chain ? std::vector<std::string>{opts_.hub_url} : std::vector<std::string>{}};
  // With a token, the mount tells the hub which blocks a start reads, so the next node to run
  // the image prefetches them (the hub merges such reports into the flist's profile).
  if (auto name = read_file(hub_name_path(key), 1024); name && opts_.share_profiles && !opts_.token.empty()) {
    m.share_profile = opts_.hub_url + "/" + std::string(name->begin(), name->end());
    m.hub_token = opts_.token;
  }
  TRY(engine::ensure_flist_mount(m));
  return mp;
}

void HubImages::release(const std::string& key) {
  auto guard = lock_for(key);
  std::lock_guard lock(*guard);
  std::string mp = mountpoint(key);
  engine::release_flist_mount(mp);
  if (engine::flist_mounted(mp)) return;  // an overlay still stacks on it: kept, to be released again
  std::error_code ec;
  fs::remove(mp, ec);
  fs::remove(mp + ".lock", ec);
  fs::remove(flist_path(key), ec);
  fs::remove(hub_name_path(key), ec);
  fs::remove(opts_.root + "/logs/" + key + ".log", ec);
}

void HubImages::release_all_but(const std::set<std::string>& keep) {
  std::error_code ec;
  for (fs::directory_iterator it(opts_.root + "/flists", ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".fl") continue;
    std::string key = it->path().stem().string();
    if (!keep.contains(key)) release(key);
  }
}

}  // namespace tiffin::snapshotter
