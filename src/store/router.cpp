#include "store/router.hpp"

#include <algorithm>
#include <map>
#include <random>

#include "store/dir_store.hpp"
#include "store/http_store.hpp"
#include "store/zdb_store.hpp"

namespace tiffin {

namespace {
int64_t steady_ns() { return std::chrono::steady_clock::now().time_since_epoch().count(); }
}  // namespace

std::vector<size_t> Router::preference() const {
  std::vector<size_t> out(entries_.size());
  for (size_t e = 0; e < out.size(); ++e) out[e] = e;
  if (out.size() > 1) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    std::shuffle(out.begin(), out.end(), rng);
    int64_t now = steady_ns();
    std::stable_partition(out.begin(), out.end(), [&](size_t e) { return down_until_[e].load(std::memory_order_relaxed) <= now; });
  }
  return out;
}

std::vector<size_t> Router::matching(const Hash& id, const std::vector<size_t>& preference) const {
  std::vector<size_t> out;
  for (size_t e : preference)
    if (id[0] >= entries_[e].start && id[0] <= entries_[e].end) out.push_back(e);
  return out;
}

void Router::note(size_t entry, bool ok, const Error* error) {
  std::atomic<int64_t>& mark = down_until_[entry];
  if (ok) {
    if (mark.load(std::memory_order_relaxed) != 0) mark.store(0, std::memory_order_relaxed);
  } else if (error && error->kind == Errc::unavailable) {
    mark.store(steady_ns() + std::chrono::nanoseconds(kDownFor).count(), std::memory_order_relaxed);
  }
}

Result<Bytes> Router::get(const Hash& id) {
  auto stores = matching(id, preference());
  if (stores.empty()) return fail(Errc::not_found, "no route for block " + to_hex(id));
  Error last;
  for (size_t e : stores) {
    auto r = entries_[e].store->get(id);
    note(e, bool(r), r ? nullptr : &r.error());
    if (r) return r;
    last = std::move(r.error());
  }
  return std::unexpected(std::move(last));
}

void Router::get_many(std::span<const Hash> ids, const BlockSink& on_block) {
  std::vector<std::vector<size_t>> stores(ids.size());
  std::vector<size_t> pending(ids.size());
  // One order for the whole call, so that a batch goes to one replica, not to all of them.
  std::vector<size_t> order = preference();
  for (size_t i = 0; i < ids.size(); ++i) {
    stores[i] = matching(ids[i], order);
    pending[i] = i;
    if (stores[i].empty()) on_block(i, fail(Errc::not_found, "no route for block " + to_hex(ids[i])));
  }
  std::erase_if(pending, [&](size_t i) { return stores[i].empty(); });
  // Round k asks each pending block's k-th replica; what fails there waits for round k + 1.
  for (size_t round = 0; !pending.empty(); ++round) {
    std::vector<size_t> again;
    std::map<size_t, std::vector<size_t>> groups;  // entry → indexes into ids
    for (size_t i : pending) groups[stores[i][round]].push_back(i);
    for (auto& [entry, group] : groups) {
      std::vector<Hash> want;
      want.reserve(group.size());
      for (size_t i : group) want.push_back(ids[i]);
      entries_[entry].store->get_many(want, [&](size_t k, Result<Bytes> r) {
        size_t i = group[k];
        note(entry, bool(r), r ? nullptr : &r.error());
        if (!r && round + 1 < stores[i].size()) again.push_back(i);
        else on_block(i, std::move(r));
      });
    }
    pending = std::move(again);
  }
}

Result<void> Router::put(const Hash& id, std::span<const uint8_t> sealed) {
  auto stores = matching(id, preference());
  if (stores.empty()) return fail(Errc::invalid_input, "no route for block " + to_hex(id));
  for (size_t e : stores) TRY(entries_[e].store->put(id, sealed));
  return {};
}

// A block counts as present only when every replica it would be written to has it, so
// that a pack fills in a replica that is missing blocks.
Result<bool> Router::has(const Hash& id) {
  auto stores = matching(id, preference());
  if (stores.empty()) return false;
  for (size_t e : stores)
    if (!TRY(entries_[e].store->has(id))) return false;
  return true;
}

Result<void> Router::flush() {
  for (auto& e : entries_) TRY(e.store->flush());
  return {};
}

std::string Router::url() const {
  std::string out;
  for (const auto& r : routes()) {
    if (!out.empty()) out += " ";
    out += r.url;
  }
  return out;
}

std::vector<Route> Router::routes() const {
  std::vector<Route> out;
  for (const auto& e : entries_) out.push_back({e.start, e.end, e.store->url()});
  return out;
}

Result<StorePtr> open_store(const std::string& url, bool create, const StoreOptions& opts) {
  StoreUrl u = TRY(parse_store_url(url));
  if (u.scheme == "dir") return StorePtr(TRY(DirStore::open(u.path, create)));
  if (u.scheme == "http" || u.scheme == "https") {
    // Credentials in an http URL go to the server (basic auth) but not into flists.
    HttpOptions h;
    h.request_timeout = opts.timeout / 2;  // two attempts fit in the caller's budget
    h.connect_timeout = std::min(h.connect_timeout, h.request_timeout);
    h.attempts = 2;
    return StorePtr(std::make_shared<HttpStore>(u.original, u.public_url(), h));
  }
  if (u.scheme == "zdb") return StorePtr(std::make_shared<ZdbStore>(u, ZdbOptions{opts.timeout / 2}));
  return fail(Errc::unsupported, "store scheme " + u.scheme + ":// is not supported yet");
}

Result<std::shared_ptr<Router>> open_router(const std::vector<std::string>& specs, bool create, const StoreOptions& opts) {
  std::vector<Router::Entry> entries;
  for (const auto& spec : specs) {
    StoreSpec s = TRY(parse_store_spec(spec));
    entries.push_back({s.start, s.end, TRY_CTX(open_store(s.url, create, opts), "store " + s.url)});
  }
  return std::make_shared<Router>(std::move(entries));
}

Result<std::shared_ptr<Router>> open_routes(const std::vector<Route>& routes, const StoreOptions& opts) {
  std::vector<Router::Entry> entries;
  for (const auto& r : routes) entries.push_back({r.start, r.end, TRY_CTX(open_store(r.url, false, opts), "route " + r.url)});
  return std::make_shared<Router>(std::move(entries));
}

}  // namespace tiffin
