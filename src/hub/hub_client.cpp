#include "hub/hub_client.hpp"

#include "flist/flist_profile.hpp"
#include "hub/hub_api.hpp"

namespace tiffin::hub {
namespace {

using json = nlohmann::json;

Errc errc_for(long status) {
  switch (status) {
    case 400:
    case 413:
    case 416: return Errc::invalid_input;
    case 401:
    case 403: return Errc::denied;
    case 404: return Errc::not_found;
    case 409: return Errc::conflict;
    case 502:  // the hub's upstream (a registry it converts from) failed
    case 503:
    case 504: return Errc::unavailable;
    default: return Errc::io;
  }
}

Result<json> parse_json(const HttpResponse& r, const std::string& what) {
  json j = json::parse(r.body.begin(), r.body.end(), nullptr, false);
  if (j.is_discarded()) return fail(Errc::corrupt, what + ": the hub answered with invalid JSON");
  return j;
}

std::span<const uint8_t> as_bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

}  // namespace

HubClient::HubClient(std::string base_url, std::string token, HttpOptions opts)
    : base_(std::move(base_url)), token_(std::move(token)), opts_(opts), http_(opts) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

Result<HttpResponse> HubClient::call(const std::string& method, const std::string& path, std::span<const uint8_t> body, unsigned ok,
    const std::string& content_type, HttpClient* http) {
  HttpRequest req{.method = method, .url = base_ + path, .body = body};
  if (!token_.empty()) req.headers.push_back("Authorization: Bearer " + token_);
  if (!body.empty()) req.headers.push_back("Content-Type: " + content_type);
  HttpResponse r = TRY((http ? *http : http_).send(req));
  if (r.status != static_cast<long>(ok) && !(ok == 201 && r.status == 200)) return fail(errc_for(r.status), describe_status(r, req.url));
  return r;
}

Result<std::vector<Hash>> HubClient::missing(const std::vector<Hash>& ids) {
  std::vector<Hash> out;
  constexpr size_t kBatch = 20000;
  for (size_t i = 0; i < ids.size(); i += kBatch) {
    json batch = json::array();
    for (size_t k = i; k < std::min(ids.size(), i + kBatch); ++k) batch.push_back(to_hex(ids[k]));
    std::string body = batch.dump();
    HttpResponse r = TRY(call("POST", "/api/blocks/missing", as_bytes(body)));
    json j = TRY(parse_json(r, "missing blocks"));
    if (!j.is_array()) return fail(Errc::corrupt, "missing blocks: expected a JSON array");
    for (const auto& v : j) {
      auto h = v.is_string() ? hash_from_hex(v.get<std::string>()) : std::nullopt;
      if (!h) return fail(Errc::corrupt, "missing blocks: not a block id: " + v.dump());
      out.push_back(*h);
    }
  }
  return out;
}

Result<void> HubClient::put_block(const Hash& id, std::span<const uint8_t> sealed) {
  TRY(call("PUT", "/blocks/" + to_hex(id), sealed, 201));
  return {};
}

Result<json> HubClient::put_flist(const FlistRef& ref, std::span<const uint8_t> content) {
  HttpResponse r = TRY(call("PUT", "/api/flist/" + ref.user + "/" + ref.name + ":" + ref.tag, content, 201));
  return parse_json(r, "uploading " + ref.str());
}

Result<json> HubClient::convert(const FlistRef& ref, const std::string& image, const std::string& platform) {
  json body{{"image", image}};
  if (!platform.empty()) body["platform"] = platform;
  std::string text = body.dump();
  // A conversion downloads and packs a whole image: no request timeout short of an hour, and
  // one attempt (the hub already retried its registry; a 502 would only come back again).
  HttpOptions slow = opts_;
  slow.request_timeout = std::chrono::hours(1);
  slow.attempts = 1;
  HttpClient http(slow);
  HttpResponse r =
      TRY_CTX(call("PUT", "/api/flist/" + ref.user + "/" + ref.name + ":" + ref.tag, as_bytes(text), 201, "application/json", &http),
          "converting " + image);
  return parse_json(r, "converting " + image);
}

Result<json> HubClient::link(const FlistRef& ref, const FlistRef& target) {
  std::string body = json{{"target", target.str()}}.dump();
  HttpResponse r = TRY(call("PUT", "/api/flist/" + ref.user + "/" + ref.name + ":" + ref.tag + "/link", as_bytes(body), 201));
  return parse_json(r, "linking " + ref.str());
}

Result<void> HubClient::remove(const FlistRef& ref) {
  TRY(call("DELETE", "/api/flist/" + ref.user + "/" + ref.name + ":" + ref.tag, {}, 204));
  return {};
}

Result<Bytes> HubClient::get_flist(const FlistRef& ref) {
  HttpResponse r = TRY(call("GET", "/" + ref.user + "/" + ref.file_name()));
  return std::move(r.body);
}

Result<Bytes> HubClient::get_layer_chain(const std::string& chain_hex) {
  HttpResponse r = TRY(call("GET", "/api/layers/" + chain_hex));
  return std::move(r.body);
}

Result<json> HubClient::info(const FlistRef& ref) {
  HttpResponse r = TRY(call("GET", "/api/flist/" + ref.user + "/" + ref.name + ":" + ref.tag));
  return parse_json(r, "info of " + ref.str());
}

Result<json> HubClient::list(const std::string& user) {
  HttpResponse r = TRY(call("GET", user.empty() ? "/api/flist" : "/api/flist/" + user));
  return parse_json(r, "listing " + user);
}

Result<std::optional<std::vector<Hash>>> HubClient::fetch_profile(const FlistRef& ref) {
  std::string what = "the prefetch profile of " + ref.str();
  auto r = call("GET", "/api/flist/" + ref.user + "/" + ref.name + ":" + ref.tag + "/profile");
  if (!r && r.error().kind == Errc::not_found) return std::optional<std::vector<Hash>>();
  if (!r) return std::unexpected(std::move(r).error());
  std::string_view text(reinterpret_cast<const char*>(r->body.data()), r->body.size());
  auto ids = parse_profile_text(text, what);
  if (!ids) return fail(Errc::corrupt, ids.error().what());
  return std::optional(std::move(*ids));
}

Result<json> HubClient::report_profile(const FlistRef& ref, std::span<const Hash> ids) {
  std::string body = profile_text(dedupe_profile(ids, HubApi::kMaxProfileReportIds));
  HttpResponse r =
      TRY(call("POST", "/api/flist/" + ref.user + "/" + ref.name + ":" + ref.tag + "/profile", as_bytes(body), 200, "text/plain"));
  return parse_json(r, "reporting the prefetch profile of " + ref.str());
}

}  // namespace tiffin::hub
