#include "store/http_store.hpp"

#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "store/block_batch.hpp"

namespace tiffin {

HttpStore::HttpStore(std::string base_url, std::string public_url, HttpOptions opts)
    : base_(std::move(base_url)), public_url_(std::move(public_url)), client_(opts) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

Result<std::optional<HttpResponse>> HttpStore::find(const Hash& id, const char* method) {
  std::string hex = to_hex(id);
  for (const std::string& url : {base_ + "/" + hex.substr(0, 2) + "/" + hex, base_ + "/" + hex}) {
    HttpResponse r = TRY(client_.send({.method = method, .url = url}));
    if (r.status == 200) return std::optional(std::move(r));
    if (r.status != 404) return fail(Errc::io, describe_status(r, url));
  }
  return std::nullopt;
}

Result<Bytes> HttpStore::get(const Hash& id) {
  auto found = TRY(find(id, "GET"));
  if (!found) return fail(Errc::not_found, "block " + to_hex(id) + " not in " + public_url_);
  return std::move(found->body);
}

void HttpStore::get_many(std::span<const Hash> ids, const BlockSink& on_block) {
  size_t done = 0;
  while (done < ids.size() && !no_batch_) {
    size_t n = std::min(kBatchMaxIds, ids.size() - done);
    if (!get_batch(ids.subspan(done, n), done, on_block)) break;
    done += n;
  }
  // The rest one GET each, several at once.
  if (done < ids.size()) BlockStore::get_many(ids.subspan(done), [&](size_t i, Result<Bytes> r) { on_block(done + i, std::move(r)); });
}

bool HttpStore::get_batch(std::span<const Hash> ids, size_t offset, const BlockSink& on_block) {
  std::string body = "[";
  for (const Hash& id : ids) body += (body.size() > 1 ? ",\"" : "\"") + to_hex(id) + "\"";
  body += "]";
  HttpRequest req{.method = "POST",
      .url = base_ + "/api/blocks/batch",
      .body = {reinterpret_cast<const uint8_t*>(body.data()), body.size()},
      .headers = {"Content-Type: application/json", "Accept: " + std::string(kBatchContentType)}};
  size_t next = 0;  // frames come in request order: the index of the next one
  Result<HttpResponse> r = fail(Errc::unavailable, req.url + ": no attempt made");
  for (int attempt = 0; attempt < std::max(1, client_.options().attempts) && next == 0; ++attempt) {
    BatchDecoder decoder;
    auto on_frame = [&](BatchFrame&& f) -> Result<void> {
      if (next >= ids.size() || f.id != ids[next])
        return fail(Errc::corrupt, req.url + ": frame " + std::to_string(next) + " is not the block asked for");
      size_t i = next++;
      if (f.status == BatchStatus::missing)
        on_block(offset + i, fail(Errc::not_found, "block " + to_hex(ids[i]) + " not in " + public_url_));
      else on_block(offset + i, std::move(f.sealed));
      return {};
    };
    r = client_.stream(req, [&](long status, std::span<const uint8_t> data) -> Result<void> {
      if (status != 200) return fail(Errc::corrupt, req.url + ": HTTP " + std::to_string(status) + " to a batch request");
      return decoder.feed(data, on_frame);
    });
    if (r && next == 0 && (r->status == 404 || r->status == 405 || r->status == 501)) {
      no_batch_ = true;  // not a tiffin hub (or an old one): single GETs from now on
      return false;
    }
    if (r && r->status == 200 && !decoder.at_boundary()) r = fail(Errc::unavailable, req.url + ": batch response cut short");
    // A 200 that is not frames at all (a server that answers any method alike) is no hub.
    if (!r && r.error().kind == Errc::corrupt && next == 0 && decoder.frames() == 0) {
      no_batch_ = true;
      return false;
    }
    if (!r && r.error().kind != Errc::unavailable) break;  // only a transport failure is tried again
  }
  if (next == ids.size()) return true;
  Error err;
  if (!r) {
    err = Error{Errc::unavailable, 0, r.error().what()};
  } else if (r->status != 200) {
    err = Error{Errc::unavailable, 0, describe_status(*r, req.url)};
  } else {
    err = Error{
        Errc::unavailable, 0, req.url + ": batch response has " + std::to_string(next) + " of " + std::to_string(ids.size()) + " blocks"};
  }
  for (size_t i = next; i < ids.size(); ++i) on_block(offset + i, std::unexpected(err));
  return true;
}

Result<bool> HttpStore::has(const Hash& id) {
  auto found = TRY(find(id, "HEAD"));
  return found.has_value();
}

Result<void> HttpStore::put(const Hash&, std::span<const uint8_t>) {
  return fail(Errc::unsupported, public_url_ + " is a read-only http store (push to a hub with `tiffin push`)");
}

}  // namespace tiffin
