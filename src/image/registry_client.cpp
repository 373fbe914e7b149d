// The Distribution API client. Every request goes through Impl::request, which adds what the
// registry asked for last time (a bearer token for the request's scopes, or basic auth), and on
// a 401 reads the challenge, authenticates and tries once more.
#include "image/registry_client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <map>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>

#include "common/text.hpp"
#include "image/digest.hpp"
#include "image/www_authenticate.hpp"
#include "store/http_client.hpp"

namespace tiffin::image {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxManifest = 4 << 20;               // distribution's own limit for a manifest
constexpr const char* kIdentityTokenUser = "<token>";  // credentials.hpp's marker
constexpr size_t kUploadChunk = 8 << 20;               // PATCH size of chunked uploads (bounds memory)

// The registry's own words for a failure: {"errors": [{"code": …, "message": …}]}.
std::string registry_message(const HttpResponse& r) {
  json j = json::parse(r.body.begin(), r.body.end(), nullptr, false);
  if (!j.is_object() || !j.contains("errors") || !j["errors"].is_array()) return "";
  std::string out;
  for (const auto& e : j["errors"]) {
    if (!e.is_object() || !e.contains("message") || !e["message"].is_string()) continue;
    if (!out.empty()) out += "; ";
    out += e["message"].get<std::string>();
  }
  return printable(out.substr(0, 500));
}

// "HTTP 500 from <url>" with the registry's message when it gave one.
std::string describe(const HttpResponse& r, const std::string& what) {
  std::string msg = registry_message(r);
  return what + ": HTTP " + std::to_string(r.status) + (msg.empty() ? "" : ": " + msg);
}

// The origin ("http://host:port") of an absolute URL, for resolving relative Locations.
std::string origin_of(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  auto path = url.find('/', scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

struct Token {
  std::string value;
  Clock::time_point expires;
};

struct Request {
  std::string method = "GET";
  std::string path;  // "/v2/…", or an absolute URL (an upload's Location)
  std::vector<std::string> scopes;
  std::vector<std::string> headers;
  std::span<const uint8_t> body;
  const HttpDataSink* stream = nullptr;
};

}  // namespace

struct RegistryClient::Impl {
  RegistryOptions opts;
  HttpClient http;
  std::mutex mu;                                            // guards everything below (layers download in parallel)
  std::map<std::string, Challenge> challenges;              // per registry: what its last 401 said
  std::map<std::string, Token> tokens;                      // per registry + scopes
  std::map<std::string, std::optional<Credentials>> creds;  // per registry, looked up once
  std::map<std::string, std::string> schemes;               // per registry reached (or fallen back to http)

  explicit Impl(RegistryOptions o) : opts(std::move(o)), http(http_options(opts)) {}

  static HttpOptions http_options(const RegistryOptions& o) {
    HttpOptions h;
    h.connect_timeout = o.connect_timeout;
    h.request_timeout = std::chrono::milliseconds(120000);
    h.attempts = std::max(1, o.attempts);
    h.max_body = 8 << 20;
    h.tls_verify = o.tls_verify;
    return h;
  }

  Result<std::optional<Credentials>> credentials(const Reference& ref) {
    if (opts.credentials) return opts.credentials->username.empty() ? std::nullopt : opts.credentials;
    std::lock_guard lock(mu);
    if (auto it = creds.find(ref.registry); it != creds.end()) return it->second;
    auto c = TRY_CTX(find_credentials(ref.registry), "reading credentials for " + ref.registry);
    creds[ref.registry] = c;
    return c;
  }

  std::string scheme(const Reference& ref) {
    std::lock_guard lock(mu);
    if (auto it = schemes.find(ref.registry); it != schemes.end()) return it->second;
    return ref.loopback() ? "http://" : "https://";
  }

  std::string url(const Reference& ref, const std::string& path) {
    if (path.starts_with("http://") || path.starts_with("https://")) return path;
    return scheme(ref) + ref.api_host() + path;
  }

  static std::string token_key(const Reference& ref, const std::vector<std::string>& scopes) {
    std::string key = ref.registry;
    for (const auto& s : scopes) key += " " + s;
    return key;
  }

  // The Authorization header for what the registry asked for last, if it asked.
  Result<std::optional<std::string>> authorization(const Reference& ref, const std::vector<std::string>& scopes) {
    std::optional<Challenge> ch;
    {
      std::lock_guard lock(mu);
      if (auto it = challenges.find(ref.registry); it != challenges.end()) ch = it->second;
      if (ch && ch->scheme == "bearer") {
        if (auto t = tokens.find(token_key(ref, scopes)); t != tokens.end() && t->second.expires > Clock::now())
          return std::optional<std::string>("Authorization: Bearer " + t->second.value);
      }
    }
    if (!ch) return std::optional<std::string>();
    auto c = TRY(credentials(ref));
    if (ch->scheme == "basic") {
      if (!c) return fail(Errc::denied, ref.registry + ": authentication required (no credentials; tiffin login " + ref.registry + ")");
      return std::optional<std::string>("Authorization: Basic " + encode_auth(*c));
    }
    if (ch->scheme != "bearer")
      return fail(Errc::unsupported, ref.registry + ": unsupported authentication scheme \"" + printable(ch->scheme) + "\"");
    std::string token = TRY(fetch_token(ref, *ch, scopes, c));
    return std::optional<std::string>("Authorization: Bearer " + token);
  }

  // GET realm?service=…&scope=… (docker's token protocol), with basic auth when there are
  // credentials; anonymous otherwise.
  Result<std::string> fetch_token(
      const Reference& ref, const Challenge& ch, const std::vector<std::string>& scopes, const std::optional<Credentials>& c) {
    std::string realm = ch.param("realm");
    if (!realm.starts_with("https://") && !realm.starts_with("http://"))
      return fail(Errc::invalid_input, ref.registry + ": bearer challenge without an http(s) realm: \"" + printable(realm) + "\"");
    std::string u = realm;
    char sep = realm.find('?') == std::string::npos ? '?' : '&';
    if (auto service = ch.param("service"); !service.empty()) {
      u += sep + std::string("service=") + percent_encode(service);
      sep = '&';
    }
    for (const auto& s : scopes) {
      u += sep + std::string("scope=") + percent_encode(s);
      sep = '&';
    }
    HttpRequest req;
    req.url = u;
    std::string form;
    if (c && c->username == kIdentityTokenUser) {
      // An identity token (what `az acr login` and docker's OAuth logins store): OAuth2's
      // refresh-token grant, POSTed as a form, scopes space-separated.
      std::string scope;
      for (const auto& s : scopes) scope += (scope.empty() ? "" : " ") + s;
      form = "grant_type=refresh_token&client_id=tiffin&service=" + percent_encode(ch.param("service")) +
             "&refresh_token=" + percent_encode(c->password) + (scope.empty() ? "" : "&scope=" + percent_encode(scope));
      req.method = "POST";
      req.url = realm;
      req.body = {reinterpret_cast<const uint8_t*>(form.data()), form.size()};
      req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    } else if (c) {
      req.headers.push_back("Authorization: Basic " + encode_auth(*c));
    }
    HttpResponse r = TRY_CTX(http.send(req), ref.registry + ": token request");
    if (r.status == 401 || r.status == 403)
      return fail(Errc::denied, ref.registry + ": authentication failed" + (c ? " (wrong username or password?)" : "") +
                                    (registry_message(r).empty() ? "" : ": " + registry_message(r)));
    if (r.status != 200) return fail(Errc::unavailable, describe(r, ref.registry + ": token request to " + realm));
    json j = json::parse(r.body.begin(), r.body.end(), nullptr, false);
    if (!j.is_object()) return fail(Errc::invalid_input, ref.registry + ": token response is not a JSON object");
    std::string token;
    for (const char* key : {"token", "access_token"})
      if (token.empty() && j.contains(key) && j[key].is_string()) token = j[key].get<std::string>();
    if (token.empty()) return fail(Errc::invalid_input, ref.registry + ": token response without a token");
    if (token.find_first_of("\r\n") != std::string::npos) return fail(Errc::invalid_input, ref.registry + ": token with a line break");
    int64_t expires_in = 60;  // the spec's default
    if (j.contains("expires_in") && j["expires_in"].is_number_integer() && j["expires_in"].get<int64_t>() > 0)
      expires_in = std::min<int64_t>(j["expires_in"].get<int64_t>(), 86400);
    std::lock_guard lock(mu);
    // Renewed a little early: a token must not expire between this check and the registry's.
    tokens[token_key(ref, scopes)] = {token, Clock::now() + std::chrono::seconds(std::max<int64_t>(expires_in - 10, 1))};
    return token;
  }

  Result<HttpResponse> send_once(const Reference& ref, const Request& rq, const std::optional<std::string>& auth) {
    HttpRequest req;
    req.method = rq.method;
    req.url = url(ref, rq.path);
    req.body = rq.body;
    req.headers = rq.headers;
    if (auth) req.headers.push_back(*auth);
    if (rq.stream) return http.stream(req, *rq.stream);
    return http.send(req);
  }

  // Sends with the current authorization; on 401 authenticates as the challenge says and sends
  // once more. With tls_verify off, a registry https cannot reach is tried over http.
  Result<HttpResponse> request(const Reference& ref, const Request& rq) {
    auto auth = TRY(authorization(ref, rq.scopes));
    auto r = send_once(ref, rq, auth);
    // Only for a registry never reached over https: a transfer that broke half way must not be
    // repeated into the same sink.
    if (!r && r.error().kind == Errc::unavailable && !opts.tls_verify && scheme(ref) == "https://" && !rq.path.starts_with("http")) {
      bool fall_back = false;
      {
        std::lock_guard lock(mu);
        if (!schemes.contains(ref.registry)) {
          schemes[ref.registry] = "http://";
          fall_back = true;
        }
      }
      if (fall_back) r = send_once(ref, rq, auth);
    }
    if (r) {
      std::string used = scheme(ref);  // reached: from now on, no fallback
      std::lock_guard lock(mu);
      schemes.try_emplace(ref.registry, used);
    }
    HttpResponse resp = TRY(std::move(r));
    if (resp.status != 401) return resp;
    auto challenges_seen = parse_www_authenticate(resp.header("WWW-Authenticate"));
    const Challenge* ch = nullptr;
    for (const auto& c : challenges_seen)
      if (c.scheme == "bearer" || c.scheme == "basic") {
        ch = &c;
        break;
      }
    if (!ch) return fail(Errc::denied, describe(resp, ref.registry + ": unauthorized"));
    {
      std::lock_guard lock(mu);
      bool same = challenges.contains(ref.registry) && challenges[ref.registry].scheme == ch->scheme && auth;
      challenges[ref.registry] = *ch;
      tokens.erase(token_key(ref, rq.scopes));
      // Already sent what this challenge wants and it was refused: the credentials are wrong
      // (or lack the rights), and asking again would not change that.
      if (same && ch->scheme == "basic") return fail(Errc::denied, describe(resp, ref.registry + ": authentication failed"));
    }
    auth = TRY(authorization(ref, rq.scopes));
    resp = TRY(send_once(ref, rq, auth));
    if (resp.status == 401)
      return fail(Errc::denied, describe(resp, ref.registry + ": authentication failed for " + rq.method + " " + rq.path));
    return resp;
  }

  static std::vector<std::string> pull_scope(const Reference& ref) { return {"repository:" + ref.repository + ":pull"}; }
  static std::vector<std::string> push_scope(const Reference& ref) { return {"repository:" + ref.repository + ":pull,push"}; }

  // An absolute URL for an upload's Location header: absolute, or relative to the registry.
  std::string resolve(const Reference& ref, const std::string& base_url, const std::string& location) {
    if (location.starts_with("http://") || location.starts_with("https://")) return location;
    if (location.starts_with("/")) return origin_of(base_url.empty() ? url(ref, "/") : base_url) + location;
    std::string base = base_url.empty() ? url(ref, "/v2/") : base_url;
    base = base.substr(0, base.find('?'));
    return base.substr(0, base.rfind('/') + 1) + location;
  }
};

RegistryClient::RegistryClient(RegistryOptions opts) : impl_(std::make_unique<Impl>(std::move(opts))) {}
RegistryClient::~RegistryClient() = default;

Result<FetchedManifest> RegistryClient::manifest(const Reference& ref) {
  const std::string what = ref.str();
  Request rq;
  rq.path = "/v2/" + ref.repository + "/manifests/" + ref.reference();
  rq.scopes = Impl::pull_scope(ref);
  rq.headers = {manifest_accept_header()};
  HttpResponse r = TRY_CTX(impl_->request(ref, rq), "fetching the manifest of " + what);
  if (r.status == 404) {
    std::string msg = registry_message(r);
    return fail(Errc::not_found, (msg.empty() ? "manifest unknown" : msg) + ": " + what);
  }
  if (r.status == 403) return fail(Errc::denied, describe(r, "fetching the manifest of " + what));
  if (r.status != 200) return fail(Errc::unavailable, describe(r, "fetching the manifest of " + what));
  if (r.body.size() > kMaxManifest) return fail(Errc::invalid_input, "manifest of " + what + " is larger than 4 MiB");
  FetchedManifest m;
  m.digest = sha256_digest(r.body);
  if (!ref.digest.empty() && m.digest != ref.digest)
    return fail(Errc::corrupt, "manifest of " + what + ": digest mismatch: expected " + ref.digest + ", got " + m.digest);
  if (std::string served = r.header("Docker-Content-Digest"); !served.empty() && served.starts_with("sha256:") && served != m.digest)
    return fail(Errc::corrupt,
        "manifest of " + what + ": the registry says its digest is " + printable(served) + ", its bytes hash to " + m.digest);
  m.media_type = r.content_type;
  m.parsed = TRY_CTX(parse_manifest(r.body, r.content_type), what);
  m.body = std::move(r.body);
  return m;
}

Result<std::optional<std::string>> RegistryClient::manifest_digest(const Reference& ref) {
  Request rq;
  rq.method = "HEAD";
  rq.path = "/v2/" + ref.repository + "/manifests/" + ref.reference();
  rq.scopes = Impl::pull_scope(ref);
  rq.headers = {manifest_accept_header()};
  HttpResponse r = TRY_CTX(impl_->request(ref, rq), "looking up " + ref.str());
  if (r.status == 404) return std::optional<std::string>();
  if (r.status == 403) return fail(Errc::denied, describe(r, "looking up " + ref.str()));
  if (r.status != 200) return fail(Errc::unavailable, describe(r, "looking up " + ref.str()));
  std::string d = r.header("Docker-Content-Digest");
  if (d.empty()) {
    // Not every registry sends it on HEAD: the body's hash is the digest.
    auto m = TRY(manifest(ref));
    return std::optional<std::string>(m.digest);
  }
  TRY_CTX(validate_digest(d), ref.str() + ": Docker-Content-Digest");
  return std::optional<std::string>(d);
}

Result<void> RegistryClient::blob(const Reference& repo, const Descriptor& desc, const BlobSink& sink) {
  TRY(validate_digest(desc.digest));
  const std::string what = "blob " + desc.digest + " of " + repo.registry + "/" + repo.repository;
  DigestVerifier verifier(desc.digest);
  uint64_t received = 0;  // bytes handed to the sink (a resumed download continues from here)
  int failures = 0;       // tries in a row that got no byte further
  for (int attempt = 0;; ++attempt) {
    const uint64_t before = received;
    uint64_t skip = 0;  // a resumed request answered from the start (200): bytes to drop
    bool first = true;
    HttpDataSink on_data = [&](long status, std::span<const uint8_t> data) -> Result<void> {
      if (first) {
        first = false;
        if (status == 200) skip = before;
      }
      if (skip > 0) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(skip, data.size()));
        data = data.subspan(n);
        skip -= n;
      }
      if (data.empty()) return {};
      if (received + data.size() > desc.size)
        return fail(Errc::corrupt, what + ": more than the " + std::to_string(desc.size) + " bytes its descriptor says");
      verifier.update(data);
      received += data.size();
      return sink(data);
    };
    Request rq;
    rq.path = "/v2/" + repo.repository + "/blobs/" + desc.digest;
    rq.scopes = Impl::pull_scope(repo);
    if (received > 0) rq.headers.push_back("Range: bytes=" + std::to_string(received) + "-");
    rq.stream = &on_data;
    auto r = impl_->request(repo, rq);
    // Connection failures, 5xx and 429 are retried with backoff; a transfer that broke after
    // making progress resumes where it stopped and does not use up an attempt.
    bool transient = !r ? r.error().kind == Errc::unavailable : r->status >= 500 || r->status == 429;
    if (transient && received == desc.size) break;  // all there: the digest decides
    if (transient) {
      failures = received > before ? 0 : failures + 1;
      if (failures < std::max(1, impl_->opts.attempts) && attempt < 1000) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100) * (1 << std::min(failures, 6)));
        continue;
      }
    }
    if (!r) return std::unexpected(std::move(r).error().context(what));
    if (r->status == 404)
      return fail(Errc::not_found, (registry_message(*r).empty() ? "blob unknown" : registry_message(*r)) + ": " + what);
    if (r->status == 403) return fail(Errc::denied, describe(*r, what));
    if (r->status != 200 && r->status != 206) return fail(Errc::unavailable, describe(*r, what));
    break;
  }
  if (received != desc.size)
    return fail(Errc::corrupt, what + ": size mismatch: expected " + std::to_string(desc.size) + " bytes, got " + std::to_string(received));
  return verifier.finish(what);
}

Result<bool> RegistryClient::has_blob(const Reference& repo, const std::string& digest) {
  TRY(validate_digest(digest));
  Request rq;
  rq.method = "HEAD";
  rq.path = "/v2/" + repo.repository + "/blobs/" + digest;
  rq.scopes = Impl::pull_scope(repo);
  HttpResponse r = TRY_CTX(impl_->request(repo, rq), "looking up blob " + digest);
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  return fail(r.status == 403 ? Errc::denied : Errc::unavailable, describe(r, "looking up blob " + digest + " in " + repo.repository));
}

Result<void> RegistryClient::upload_blob(const Reference& repo, const Descriptor& desc, const std::string& from_repository,
    const std::function<Result<void>(const BlobSink&)>& read) {
  TRY(validate_digest(desc.digest));
  const std::string what = "uploading blob " + desc.digest + " to " + repo.registry + "/" + repo.repository;
  std::vector<std::string> scopes = Impl::push_scope(repo);
  Request start;
  start.method = "POST";
  start.path = "/v2/" + repo.repository + "/blobs/uploads/";
  if (!from_repository.empty()) {
    start.path += "?mount=" + percent_encode(desc.digest) + "&from=" + percent_encode(from_repository);
    scopes.push_back("repository:" + from_repository + ":pull");
  } else if (TRY(has_blob(repo, desc.digest))) {
    return {};
  }
  start.scopes = scopes;
  HttpResponse r = TRY_CTX(impl_->request(repo, start), what);
  if (r.status == 201) return {};  // mounted from from_repository
  if (r.status != 202) return fail(r.status == 403 ? Errc::denied : Errc::unavailable, describe(r, what + ": starting the upload"));
  std::string location = r.header("Location");
  if (location.empty()) return fail(Errc::invalid_input, what + ": the registry gave no upload location");
  location = impl_->resolve(repo, impl_->url(repo, start.path), location);

  // Chunks of kUploadChunk go out as PATCHes; the rest with the closing PUT (a blob smaller
  // than a chunk is one monolithic PUT).
  DigestVerifier verifier(desc.digest);
  Bytes buffer;
  uint64_t sent = 0;
  auto patch = [&]() -> Result<void> {
    Request rq;
    rq.method = "PATCH";
    rq.path = location;
    rq.scopes = Impl::push_scope(repo);
    rq.body = buffer;
    rq.headers = {"Content-Type: application/octet-stream",
        "Content-Range: " + std::to_string(sent) + "-" + std::to_string(sent + buffer.size() - 1)};
    HttpResponse pr = TRY_CTX(impl_->request(repo, rq), what);
    if (pr.status != 202) return fail(pr.status == 403 ? Errc::denied : Errc::unavailable, describe(pr, what + ": sending a chunk"));
    if (std::string next = pr.header("Location"); !next.empty()) location = impl_->resolve(repo, location, next);
    sent += buffer.size();
    buffer.clear();
    return {};
  };
  BlobSink sink = [&](std::span<const uint8_t> data) -> Result<void> {
    verifier.update(data);
    if (verifier.size() > desc.size)
      return fail(Errc::corrupt, what + ": more than the " + std::to_string(desc.size) + " bytes its descriptor says");
    while (!data.empty()) {
      size_t n = std::min(data.size(), kUploadChunk - buffer.size());
      buffer.insert(buffer.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(n));
      data = data.subspan(n);
      if (buffer.size() == kUploadChunk) TRY(patch());
    }
    return {};
  };
  // On any failure the upload is left unfinished (no PUT): nothing is committed, and the
  // registry drops the session later (a DELETE would need the "delete" right too).
  if (auto rr = read(sink); !rr) return std::unexpected(std::move(rr).error().context(what));
  if (verifier.size() != desc.size) {
    return fail(
        Errc::corrupt, what + ": size mismatch: expected " + std::to_string(desc.size) + " bytes, read " + std::to_string(verifier.size()));
  }
  TRY(verifier.finish(what));
  Request put;
  put.method = "PUT";
  put.path = location + (location.find('?') == std::string::npos ? "?" : "&") + "digest=" + percent_encode(desc.digest);
  put.scopes = Impl::push_scope(repo);
  put.body = buffer;
  put.headers = {"Content-Type: application/octet-stream"};
  HttpResponse pr = TRY_CTX(impl_->request(repo, put), what);
  if (pr.status != 201) return fail(pr.status == 403 ? Errc::denied : Errc::unavailable, describe(pr, what + ": completing the upload"));
  return {};
}

Result<std::string> RegistryClient::put_manifest(const Reference& ref, std::span<const uint8_t> body, const std::string& media_type) {
  const std::string what = "pushing the manifest of " + ref.str();
  std::string digest = sha256_digest(body);
  if (!ref.digest.empty() && ref.digest != digest)
    return fail(Errc::invalid_input, what + ": the manifest's digest is " + digest + ", not the reference's");
  Request rq;
  rq.method = "PUT";
  rq.path = "/v2/" + ref.repository + "/manifests/" + ref.reference();
  rq.scopes = Impl::push_scope(ref);
  rq.body = body;
  rq.headers = {"Content-Type: " + media_type};
  HttpResponse r = TRY_CTX(impl_->request(ref, rq), what);
  if (r.status != 201 && r.status != 200) {
    Errc kind = r.status == 403 ? Errc::denied : r.status == 400 || r.status == 404 ? Errc::invalid_input : Errc::unavailable;
    return fail(kind, describe(r, what));
  }
  if (std::string served = r.header("Docker-Content-Digest"); !served.empty() && served.starts_with("sha256:") && served != digest)
    return fail(Errc::corrupt, what + ": the registry stored it as " + printable(served) + ", expected " + digest);
  return digest;
}

Result<void> RegistryClient::check_login(const Reference& registry_only) {
  // docker login's check: /v2/ with the registry's auth flow, no repository scope.
  Request rq;
  rq.path = "/v2/";
  HttpResponse r = TRY_CTX(impl_->request(registry_only, rq), "logging in to " + registry_only.registry);
  if (r.status == 200) return {};
  if (r.status == 403) return fail(Errc::denied, describe(r, "logging in to " + registry_only.registry));
  return fail(Errc::unavailable, describe(r, "logging in to " + registry_only.registry + ": GET /v2/"));
}

}  // namespace tiffin::image
