#include "hub/hub_sync.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/hash.hpp"
#include "common/termination_signals.hpp"
#include "flist/flist_edit.hpp"
#include "flist/flist_file.hpp"
#include "hub/hub_client.hpp"
#include "hub/hub_repository.hpp"
#include "image/digest.hpp"
#include "store/http_store.hpp"

namespace tiffin::hub {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// What the source lists: a regular flist (its sha256 asked for separately) or a link.
struct SourceEntry {
  FlistRef ref;
  bool link = false;
  FlistRef target;
};

struct TempFile {
  std::string path;
  ~TempFile() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

Result<void> make_dirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return fail(Errc::io, "mkdir " + path + ": " + ec.message());
  return {};
}

// The sync's own bookkeeping under <root>/replica: which source file a local copy was made
// from (only needed when the copy was changed by an added route).
class ReplicaRecords {
 public:
  explicit ReplicaRecords(std::string root) : dir_(std::move(root) + "/replica") {}

  Result<void> open() {
    TRY(make_dirs(dir_ + "/tmp"));
    TRY(make_dirs(dir_ + "/flists"));
    // Downloads of a sync that died: older than any round runs, so nobody is writing them.
    std::error_code ec;
    auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(6);
    for (const auto& e : fs::directory_iterator(dir_ + "/tmp", ec))
      if (e.last_write_time(ec) < cutoff) fs::remove(e.path(), ec);
    return {};
  }

  std::string temp_path() {
    static std::atomic<uint64_t> counter{0};
    return dir_ + "/tmp/sync-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".fl";
  }

  struct Record {
    std::string source_sha256, local_sha256;
  };

  std::optional<Record> get(const FlistRef& ref) const {
    auto data = read_file(path(ref), 1 << 16);
    if (!data) return std::nullopt;
    json j = json::parse(data->begin(), data->end(), nullptr, false);
    if (!j.is_object() || !j.contains("source_sha256") || !j.contains("sha256")) return std::nullopt;
    if (!j["source_sha256"].is_string() || !j["sha256"].is_string()) return std::nullopt;
    return Record{j["source_sha256"].get<std::string>(), j["sha256"].get<std::string>()};
  }

  Result<void> put(const FlistRef& ref, const Record& r) {
    TRY(make_dirs(dir_ + "/flists/" + ref.user));
    std::string text = json{{"source_sha256", r.source_sha256}, {"sha256", r.local_sha256}}.dump();
    return write_file_atomic(path(ref), text);
  }

  void remove(const FlistRef& ref) { ::unlink(path(ref).c_str()); }

 private:
  std::string path(const FlistRef& ref) const { return dir_ + "/flists/" + ref.user + "/" + ref.name + ":" + ref.tag + ".json"; }
  std::string dir_;
};

Result<std::vector<SourceEntry>> list_source(HubClient& src) {
  json users = TRY_CTX(src.list(""), "listing the users of " + src.base());
  if (!users.is_array()) return fail(Errc::corrupt, src.base() + ": the user list is not a JSON array");
  std::vector<SourceEntry> out;
  for (const auto& u : users) {
    if (!u.is_string() || !valid_name(u.get<std::string>())) return fail(Errc::corrupt, src.base() + ": not a user name: " + u.dump());
    std::string user = u.get<std::string>();
    json entries = TRY_CTX(src.list(user), "listing " + user + " on " + src.base());
    if (!entries.is_array()) return fail(Errc::corrupt, src.base() + ": the flists of " + user + " are not a JSON array");
    for (const auto& e : entries) {
      if (!e.is_object() || !e.contains("flist") || !e["flist"].is_string())
        return fail(Errc::corrupt, src.base() + ": not an flist entry: " + e.dump());
      SourceEntry s{TRY_CTX(parse_flist_ref(e["flist"].get<std::string>()), src.base())};
      if (s.ref.user != user) return fail(Errc::corrupt, src.base() + ": " + s.ref.str() + " listed under " + user);
      s.link = e.value("type", "regular") == "symlink";
      if (s.link) s.target = TRY_CTX(parse_flist_ref(e.value("target", "")), src.base() + ": link " + s.ref.str());
      out.push_back(std::move(s));
    }
  }
  return out;
}

class Syncer {
 public:
  Syncer(const std::string& from, HubRepository repo, const SyncOptions& opts)
      : opts_(opts), src_(from, "", flist_http()), blocks_(from, from), repo_(std::move(repo)), records_(repo_.root()) {}

  Result<SyncReport> run() {
    auto t0 = std::chrono::steady_clock::now();
    TRY(records_.open());
    std::vector<SourceEntry> entries = TRY(list_source(src_));
    std::vector<const SourceEntry*> links;
    for (const auto& e : entries) {
      if (e.link) {
        links.push_back(&e);
        continue;
      }
      if (auto r = sync_flist(e.ref); !r) report_.failures.push_back(e.ref.str() + ": " + r.error().what());
    }
    sync_links(links);
    if (opts_.delete_gone) TRY(remove_gone(entries));
    report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return std::move(report_);
  }

 private:
  static HttpOptions flist_http() {
    HttpOptions o;
    o.max_body = size_t(256) << 20;  // a whole flist
    o.request_timeout = std::chrono::milliseconds(300000);
    return o;
  }

  // Whether the local copy of `ref` was made from the source file of `source_sha256`.
  bool unchanged(const FlistRef& ref, const std::string& source_sha256) {
    auto local = repo_.info(ref);
    if (!local || local->type != "regular") return false;
    if (local->sha256 == source_sha256) return true;
    auto rec = records_.get(ref);
    return rec && rec->source_sha256 == source_sha256 && rec->local_sha256 == local->sha256;
  }

  Result<void> sync_flist(const FlistRef& ref) {
    json info = TRY_CTX(src_.info(ref), "asking for its info");
    std::string sha = info.value("sha256", "");
    if (!sha.empty() && unchanged(ref, sha)) {
      ++report_.flists_unchanged;
      return {};
    }
    Bytes content = TRY_CTX(src_.get_flist(ref), "downloading it");
    // What was downloaded, not what the info said: the source may have replaced it between.
    sha = image::sha256_digest(content).substr(7);
    if (unchanged(ref, sha)) {
      ++report_.flists_unchanged;
      return {};
    }
    TempFile tmp{records_.temp_path()};
    {
      UniqueFd fd(::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (!fd) return fail_errno("create " + tmp.path);
      TRY(write_all(fd.get(), content));
    }
    Tree tree = TRY_CTX(load_flist(tmp.path), "the source sent an invalid flist");
    TRY(fetch_blocks(tree.block_ids()));
    // Signatures cover the routes (flist/signature.hpp): a signed flist is copied as it is, and
    // nodes reach the replica for it through their own -s.
    if (!opts_.add_route.empty() && tree.signatures.empty() &&
        std::none_of(tree.routes.begin(), tree.routes.end(), [&](const Route& r) { return r.url == opts_.add_route; }))
      TRY_CTX(add_routes(tmp.path, {Route{0, 0xff, opts_.add_route}}, false), "adding the route to this replica");
    // put_flist checks again that every block is here, and consumes the file.
    std::string upload = tmp.path;
    tmp.path.clear();
    TRY_CTX(repo_.put_flist(ref, upload), "installing it");
    FlistInfo installed = TRY(repo_.info(ref));
    if (installed.sha256 != sha) TRY(records_.put(ref, {sha, installed.sha256}));
    else records_.remove(ref);
    ++report_.flists_copied;
    report_.flist_bytes += content.size();
    if (opts_.progress) fmt::print(stderr, "copied {} ({} bytes)\n", ref.str(), content.size());
    return {};
  }

  // The blocks of `ids` this hub lacks, from the source, verified, stored and made durable.
  Result<void> fetch_blocks(const std::vector<Hash>& ids) {
    std::vector<Hash> need = TRY_CTX(repo_.missing(ids), "looking for its blocks here");
    if (need.empty()) return {};
    std::optional<Error> first;
    size_t failed = 0;
    // get_many never calls the sink twice at once: each block is checked (put_block refuses
    // one that is not the hash of its bytes) and written as it arrives.
    blocks_.get_many(need, [&](size_t i, Result<Bytes> sealed) {
      if (auto r = store_block(need[i], sealed); !r) {
        ++failed;
        if (!first) first = std::move(r.error()).context("block " + to_hex(need[i]));
      }
    });
    TRY_CTX(repo_.blocks().flush(), "flushing the blocks");
    if (first)
      return std::unexpected(
          std::move(*first).context(std::to_string(failed) + " of " + std::to_string(need.size()) + " blocks not copied"));
    return {};
  }

  // Not inlined into the sink: GCC 12 then warns that the Result's vector "may be used
  // uninitialized" on the path where it holds an error (a false positive, fatal with -Werror).
  [[gnu::noinline]] Result<void> store_block(const Hash& id, const Result<Bytes>& sealed) {
    if (!sealed) return std::unexpected(sealed.error());
    TRY(repo_.put_block(id, *sealed));
    ++report_.blocks_fetched;
    report_.bytes_fetched += sealed->size();
    return {};
  }

  void sync_links(std::vector<const SourceEntry*> pending) {
    // A link to a link waits for its target's turn: passes until one makes no progress.
    for (bool progress = true; progress && !pending.empty();) {
      progress = false;
      std::vector<const SourceEntry*> later;
      for (const SourceEntry* e : pending) {
        auto local = repo_.info(e->ref);
        if (local && local->type == "symlink" && local->target == e->target.str()) {
          ++report_.links_unchanged;
          progress = true;
          continue;
        }
        auto made = repo_.link(e->ref, e->target);
        if (made) {
          records_.remove(e->ref);
          ++report_.links_made;
          progress = true;
        } else if (made.error().kind == Errc::not_found) {
          later.push_back(e);
        } else {
          report_.failures.push_back(e->ref.str() + ": linking to " + e->target.str() + ": " + made.error().what());
        }
      }
      pending = std::move(later);
    }
    for (const SourceEntry* e : pending) report_.failures.push_back(e->ref.str() + ": its target " + e->target.str() + " is not here");
  }

  Result<void> remove_gone(const std::vector<SourceEntry>& entries) {
    std::set<std::string> listed;
    for (const auto& e : entries) listed.insert(e.ref.str());
    for (const std::string& user : TRY(repo_.users())) {
      for (const FlistInfo& local : TRY(repo_.list(user))) {
        if (listed.contains(local.ref.str())) continue;
        if (auto r = repo_.remove(local.ref); !r && r.error().kind != Errc::not_found) {
          report_.failures.push_back(local.ref.str() + ": removing it: " + r.error().what());
          continue;
        }
        records_.remove(local.ref);
        ++report_.flists_removed;
      }
    }
    return {};
  }

  SyncOptions opts_;
  HubClient src_;
  HttpStore blocks_;
  HubRepository repo_;
  ReplicaRecords records_;
  SyncReport report_;
};

// The source's base URL and the options as used: trailing slashes gone, nonsense refused.
Result<std::pair<std::string, SyncOptions>> checked(const std::string& from_url, const SyncOptions& opts) {
  std::string from = from_url;
  while (from.ends_with("/")) from.pop_back();
  if (!from.starts_with("http://") && !from.starts_with("https://"))
    return fail(Errc::invalid_input, "'" + from_url + "' is not a hub URL (http(s)://host[:port])");
  SyncOptions o = opts;
  while (o.add_route.ends_with("/")) o.add_route.pop_back();
  if (!o.add_route.empty() && o.add_route == from)
    return fail(Errc::invalid_input, "--public-url is the source's own URL: a hub cannot be its own replica");
  return std::pair{from, o};
}

}  // namespace

Result<SyncReport> sync_hub(const std::string& from_url, const std::string& root, const SyncOptions& opts) {
  auto [from, o] = TRY(checked(from_url, opts));
  HubRepository repo = TRY(HubRepository::attach(root));
  return Syncer(from, std::move(repo), o).run();
}

Result<void> sync_hub_every(const std::string& from_url, const std::string& root, const SyncOptions& opts, std::chrono::seconds interval,
    const std::function<void(const Result<SyncReport>&)>& on_round) {
  if (interval.count() <= 0) return fail(Errc::invalid_input, "the interval must be at least one second");
  TRY(checked(from_url, opts));
  TerminationSignals signals;  // before any thread starts: only wait_for takes them
  for (;;) {
    auto start = std::chrono::steady_clock::now();
    Result<SyncReport> round = sync_hub(from_url, root, opts);
    on_round(round);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(start + interval - std::chrono::steady_clock::now());
    if (signals.wait_for(std::max(left, std::chrono::milliseconds(1))) != 0) return {};
  }
}

}  // namespace tiffin::hub
