#include "hub/push.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "common/fd.hpp"
#include "common/parallel.hpp"
#include "common/progress.hpp"
#include "flist/flist_edit.hpp"
#include "flist/flist_file.hpp"
#include "flist/flist_profile.hpp"
#include "hub/hub_client.hpp"
#include "store/router.hpp"

namespace tiffin::hub {
namespace {

HttpOptions hub_http_options() {
  HttpOptions o;
  o.max_body = size_t(256) << 20;  // flists
  o.request_timeout = std::chrono::milliseconds(300000);
  return o;
}

struct TempFile {
  std::string path;
  ~TempFile() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

}  // namespace

Result<PushStats> push_flist(const std::string& flist, const HubLocation& to, const PushOptions& opts) {
  if (opts.token.empty()) return fail(Errc::invalid_input, "pushing needs a token (--token or TIFFIN_HUB_TOKEN)");
  Tree tree = TRY_CTX(load_flist(flist), "loading " + flist);
  std::shared_ptr<Router> source;
  if (!opts.stores.empty()) {
    source = TRY(open_router(opts.stores));
  } else {
    if (tree.routes.empty()) return fail(Errc::invalid_input, flist + " has no routes; name its store with -s");
    source = TRY(open_routes(tree.routes));
  }
  std::vector<Hash> ids = tree.block_ids();

  HubClient hub(to.base, opts.token, hub_http_options());
  PushStats stats;
  stats.blocks = ids.size();
  // Asks the hub which blocks it lacks and uploads those. Asking also keeps the ones it has from
  // its garbage collector for a while (hub_gc.hpp).
  auto send_missing = [&]() -> Result<void> {
    std::vector<Hash> missing = TRY_CTX(hub.missing(ids), "asking " + to.base + " which blocks it lacks");
    stats.blocks_sent += missing.size();
    Progress progress("pushing " + to.ref.str(), 0, opts.progress);
    std::atomic<uint64_t> sent{0};
    TRY(parallel_for(missing.size(), opts.threads, [&](size_t i) -> Result<void> {
      Bytes sealed = TRY_CTX(source->get(missing[i]), "reading block " + to_hex(missing[i]));
      TRY_CTX(hub.put_block(missing[i], sealed), "uploading block " + to_hex(missing[i]));
      sent += sealed.size();
      progress.add(sealed.size(), 1);
      return {};
    }));
    progress.finish();
    stats.bytes_sent += sent;
    return {};
  };
  TRY(send_missing());

  // The flist as the hub serves it: its blocks are read from the hub from now on. A copy with only
  // the route rows changed, so an rfs flist reaches the hub as rfs made it.
  TempFile copy{(std::filesystem::temp_directory_path() / ("tiffin-push-" + std::to_string(::getpid()) + ".fl")).string()};
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::copy_file(flist, copy.path, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::permissions(copy.path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace, ec);
  if (ec) return fail(Errc::io, "copying " + flist + " to " + copy.path + ": " + ec.message());
  TRY(add_routes(copy.path, {Route{0, 0xff, to.base}}, true));
  Bytes content = TRY(read_file(copy.path, size_t(256) << 20));
  stats.flist_bytes = content.size();
  // 409: the hub lacks some of the flist's blocks after all. A garbage collection on the hub
  // freed them between our question and this upload (blocks it held that no flist named, older
  // than its grace period — a push slower than that, or a collection with none). They are ours
  // to send: ask again, upload what is missing, and try once more, a few times.
  for (int attempt = 0;; ++attempt) {
    auto put = hub.put_flist(to.ref, content);
    if (put) break;
    if (put.error().kind != Errc::conflict || attempt == 3) return std::unexpected(put.error().context("uploading the flist"));
    TRY(send_missing());
  }
  stats.url = to.base + "/" + to.ref.user + "/" + to.ref.file_name();
  return stats;
}

Result<uint64_t> pull_flist(const HubLocation& from, const std::string& output, const PullOptions& opts) {
  HttpOptions flist_http = hub_http_options(), profile_http;
  flist_http.request_timeout = opts.timeout;
  profile_http.request_timeout = std::chrono::milliseconds(10000);
  profile_http.attempts = 1;
  HubClient hub(from.base, "", flist_http), profile_hub(from.base, "", profile_http);
  // The profile is asked for while the flist downloads: one round trip less on a cold start.
  auto learnt = std::async(std::launch::async, [&profile_hub, &from] { return profile_hub.fetch_profile(from.ref); });
  Bytes content = TRY_CTX(hub.get_flist(from.ref), "pulling " + from.ref.str() + " from " + from.base);
  std::string tmp = output + ".pull." + std::to_string(::getpid());
  // What a process that had our pid left when it died (no live process has it).
  ::unlink(tmp.c_str());
  ::unlink((tmp + "-journal").c_str());
  TempFile guard{tmp};
  {
    // Validated under a temp name, made durable, then renamed over the output.
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, opts.mode));
    if (!fd) return fail_errno("create " + tmp);
    TRY(write_all(fd.get(), content));
    if (::fsync(fd.get()) != 0) return fail_errno("fsync " + tmp);
  }
  Tree tree = TRY_CTX(load_flist(tmp), "the hub sent an invalid flist for " + from.ref.str());
  // The prefetch profile the hub learnt travels with the copy, unless the flist embeds its own.
  // Advisory: a hub without profiles (404), or one that fails to answer, changes nothing.
  if (auto profile = learnt.get(); tree.profile.empty() && profile && *profile && !(*profile)->empty())
    (void)write_flist_profile(tmp, **profile);
  if (::rename(tmp.c_str(), output.c_str()) != 0) return fail_errno("rename " + tmp + " to " + output);
  guard.path.clear();
  return content.size();
}

}  // namespace tiffin::hub
