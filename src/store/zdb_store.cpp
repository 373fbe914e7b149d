#include "store/zdb_store.hpp"

#include <hiredis/hiredis.h>

#include <memory>

namespace tiffin {
namespace {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

ZdbStore::ZdbStore(StoreUrl url, ZdbOptions opts) : url_(std::move(url)), opts_(opts) {
  if (url_.port == 0) url_.port = 9900;
  if (url_.host.size() > 2 && url_.host.front() == '[') url_.host = url_.host.substr(1, url_.host.size() - 2);
}

ZdbStore::~ZdbStore() {
  for (void* c : idle_) redisFree(static_cast<redisContext*>(c));
}

Result<void*> ZdbStore::connect() {
  timeval tv = to_timeval(opts_.timeout);
  redisContext* c = redisConnectWithTimeout(url_.host.c_str(), url_.port, tv);
  if (!c) return fail(Errc::internal, "out of memory");
  if (c->err) {
    std::string msg = url() + ": " + c->errstr;
    redisFree(c);
    return fail(Errc::unavailable, msg);
  }
  redisSetTimeout(c, tv);
  std::string ns = url_.path.size() > 1 ? url_.path.substr(1) : "";
  ReplyPtr r;
  if (!ns.empty()) {
    r.reset(static_cast<redisReply*>(url_.password.empty() ? redisCommand(c, "SELECT %s", ns.c_str())
                                                           : redisCommand(c, "SELECT %s %s", ns.c_str(), url_.password.c_str())));
  } else if (!url_.password.empty()) {
    r.reset(static_cast<redisReply*>(url_.user.empty() ? redisCommand(c, "AUTH %s", url_.password.c_str())
                                                       : redisCommand(c, "AUTH %s %s", url_.user.c_str(), url_.password.c_str())));
  }
  if ((!ns.empty() || !url_.password.empty()) && (!r || r->type == REDIS_REPLY_ERROR)) {
    std::string msg = url() + ": " + (r ? std::string(r->str, r->len) : std::string(c->errstr));
    redisFree(c);
    return fail(r ? Errc::invalid_input : Errc::unavailable, msg);
  }
  return static_cast<void*>(c);
}

// Runs f(redisContext*) on a pooled connection; returns the connection to the pool unless it broke.
// A request that failed on a connection taken from the pool is retried once on a new one,
// because a pooled connection may have been closed by the server while idle.
template <class F>
auto ZdbStore::with_connection(F&& f) -> decltype(f(nullptr)) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    void* conn = nullptr;
    bool pooled = false;
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        conn = idle_.back();
        idle_.pop_back();
        pooled = true;
      }
    }
    if (!conn) conn = TRY(connect());
    auto* c = static_cast<redisContext*>(conn);
    auto result = f(c);
    if (c->err) {
      redisFree(c);
      if (pooled) continue;
      return result;
    }
    std::lock_guard lock(mu_);
    idle_.push_back(conn);
    return result;
  }
  return fail(Errc::unavailable, url() + ": connection lost");
}

Result<Bytes> ZdbStore::get(const Hash& id) {
  return with_connection([&](void* ctx) -> Result<Bytes> {
    auto* c = static_cast<redisContext*>(ctx);
    ReplyPtr r(static_cast<redisReply*>(redisCommand(c, "GET %b", id.data(), id.size())));
    if (!r) return fail(Errc::unavailable, url() + ": " + c->errstr);
    if (r->type == REDIS_REPLY_NIL) return fail(Errc::not_found, "block " + to_hex(id) + " not in " + url());
    if (r->type != REDIS_REPLY_STRING) return fail(Errc::io, url() + ": GET: " + std::string(r->str ? r->str : "unexpected reply"));
    return Bytes(r->str, r->str + r->len);
  });
}

Result<void> ZdbStore::put(const Hash& id, std::span<const uint8_t> sealed) {
  return with_connection([&](void* ctx) -> Result<void> {
    auto* c = static_cast<redisContext*>(ctx);
    ReplyPtr r(static_cast<redisReply*>(redisCommand(c, "SET %b %b", id.data(), id.size(), sealed.data(), sealed.size())));
    if (!r) return fail(Errc::unavailable, url() + ": " + c->errstr);
    if (r->type == REDIS_REPLY_ERROR) return fail(Errc::io, url() + ": SET: " + std::string(r->str, r->len));
    return {};
  });
}

Result<bool> ZdbStore::has(const Hash& id) {
  return with_connection([&](void* ctx) -> Result<bool> {
    auto* c = static_cast<redisContext*>(ctx);
    ReplyPtr r(static_cast<redisReply*>(redisCommand(c, "EXISTS %b", id.data(), id.size())));
    if (!r) return fail(Errc::unavailable, url() + ": " + c->errstr);
    if (r->type != REDIS_REPLY_INTEGER) return fail(Errc::io, url() + ": EXISTS: unexpected reply");
    return r->integer > 0;
  });
}

}  // namespace tiffin
