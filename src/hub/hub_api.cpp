#include "hub/hub_api.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/text.hpp"
#include "hub/hub_batch.hpp"
#include "hub/hub_metrics.hpp"

namespace tiffin::hub {
namespace {

using json = nlohmann::json;

bool is_loopback(const std::string& address) {
  return address.starts_with("127.") || address == "::1" || address.starts_with("::ffff:127.");
}

unsigned status_for(Errc kind) {
  switch (kind) {
    case Errc::invalid_input: return 400;
    case Errc::not_found: return 404;
    case Errc::conflict: return 409;
    case Errc::unsupported: return 400;
    case Errc::denied: return 403;
    case Errc::unavailable: return 503;
    default: return 500;
  }
}

HubResponse error_response(unsigned status, const std::string& message) { return json_response(status, json{{"error", message}}); }

// Path components, percent-decoded; the query string is ignored. nullopt for malformed escapes.
std::optional<std::vector<std::string>> split_target(const std::string& target) {
  std::string path = target.substr(0, target.find('?'));
  std::vector<std::string> parts;
  std::string cur;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!cur.empty()) parts.push_back(std::move(cur));
      cur.clear();
    } else if (path[i] == '%') {
      std::string_view hex = std::string_view(path).substr(i + 1, 2);
      auto byte = hex.size() == 2 ? parse_uint<uint8_t>(hex, 16) : std::nullopt;
      if (!byte) return std::nullopt;
      cur += static_cast<char>(*byte);
      i += 2;
    } else {
      cur += path[i];
    }
  }
  return parts;
}

json info_json(const FlistInfo& i) {
  json j{{"name", i.ref.name + ":" + i.ref.tag}, {"flist", i.ref.str()}, {"type", i.type}, {"size", i.size}, {"updated", i.updated}};
  if (!i.target.empty()) j["target"] = i.target;
  if (!i.md5.empty()) {
    j["md5"] = i.md5;
    j["sha256"] = i.sha256;
  }
  return j;
}

struct ByteRange {
  uint64_t first, last;  // inclusive
};

// One "bytes=" range over a file of `size` bytes. nullopt: serve the whole file (no or multiple
// ranges); an error: unsatisfiable (416).
Result<std::optional<ByteRange>> parse_range(const std::string& header, uint64_t size) {
  if (header.empty() || header.find(',') != std::string::npos) return std::nullopt;
  if (!header.starts_with("bytes=")) return std::nullopt;
  std::string_view spec = std::string_view(header).substr(6);
  size_t dash = spec.find('-');
  auto bad = fail(Errc::invalid_input, "range not satisfiable");
  if (dash == std::string_view::npos) return bad;
  std::string_view first = spec.substr(0, dash), second = spec.substr(dash + 1);
  auto a = parse_uint(first), b = parse_uint(second);
  if (first.empty()) {  // suffix: the last b bytes
    if (!b || *b == 0 || size == 0) return bad;
    return ByteRange{size - std::min(*b, size), size - 1};
  }
  if (!a || *a >= size || (!second.empty() && !b)) return bad;
  uint64_t last = b ? std::min(*b, size - 1) : size - 1;
  if (last < *a) return bad;
  return ByteRange{*a, last};
}

}  // namespace

HubResponse json_response(unsigned status, const json& j) {
  HubResponse r;
  r.status = status;
  // Error messages quote what the client sent, which need not be UTF-8.
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  return r;
}

Result<std::vector<Hash>> parse_block_ids(const std::string& body, size_t max) {
  json ids = json::parse(body, nullptr, false);
  if (ids.is_object() && ids.contains("ids")) ids = ids["ids"];
  if (!ids.is_array()) return fail(Errc::invalid_input, "expected a JSON array of block ids");
  if (ids.size() > max) return fail(Errc::invalid_input, "at most " + std::to_string(max) + " ids per request");
  std::vector<Hash> out;
  out.reserve(ids.size());
  for (const auto& v : ids) {
    auto h = v.is_string() ? hash_from_hex(v.get<std::string>()) : std::nullopt;
    if (!h) return fail(Errc::invalid_input, "not a block id: " + v.dump(-1, ' ', false, json::error_handler_t::replace));
    out.push_back(*h);
  }
  return out;
}

bool HubApi::is_json(const std::string& content_type) {
  std::string_view t = std::string_view(content_type).substr(0, content_type.find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  constexpr std::string_view kJson = "application/json";
  return t.size() == kJson.size() &&
         std::equal(t.begin(), t.end(), kJson.begin(), [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

bool HubApi::streams_body(const std::string& method, const std::string& target, const std::string& content_type) {
  return method == "PUT" && target.starts_with("/api/flist/") && !target.ends_with("/link") && !is_json(content_type);
}

HubResponse HubApi::handle(const HubRequest& req) {
  auto r = route(req);
  if (!req.body_file.empty()) ::unlink(req.body_file.c_str());  // consumed or not, it goes
  if (r) return std::move(*r);
  return error_answer(r.error());
}

HubResponse HubApi::error_answer(const Error& e) {
  // EACCES marks "who are you?" (no or a bad token) apart from "not yours" (EPERM).
  if (e.kind == Errc::denied && e.sys_errno == EACCES) {
    HubResponse out = error_response(401, e.what());
    out.headers.push_back({"WWW-Authenticate", "Bearer"});
    return out;
  }
  return error_response(status_for(e.kind), e.what());
}

std::optional<HubResponse> HubApi::refuse_upload(const HubRequest& req) {
  if (!streams_body(req.method, req.target, req.content_type)) return std::nullopt;
  auto parts = split_target(req.target);
  if (!parts || parts->size() < 3) return std::nullopt;  // route() answers what this is
  if (auto who = authorize(req, (*parts)[2]); !who) return error_answer(who.error());
  return std::nullopt;
}

Result<std::string> HubApi::authenticate(const HubRequest& req) {
  auto unauthenticated = [](std::string why) { return std::unexpected(Error{Errc::denied, EACCES, std::move(why)}); };
  if (!req.authorization.starts_with("Bearer ")) return unauthenticated("this request needs a token (Authorization: Bearer …)");
  auto who = verify_token(key_, req.authorization.substr(7));
  if (!who) return unauthenticated(who.error().what());
  return *who;
}

Result<std::string> HubApi::authorize(const HubRequest& req, const std::string& user) {
  std::string who = TRY(authenticate(req));
  if (who != user) return std::unexpected(Error{Errc::denied, EPERM, "the token of " + who + " cannot write to " + user});
  return who;
}

Result<HubResponse> HubApi::serve_file(const HubRequest& req, const std::string& path, const std::string& type) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return fail(Errc::not_found, "not found");
    return fail_errno("open " + path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail_errno("fstat " + path);
  uint64_t size = st.st_size;
  HubResponse r;
  r.content_type = type;
  r.headers.push_back({"Accept-Ranges", "bytes"});
  auto range = parse_range(req.range, size);
  if (!range) {
    r.status = 416;
    r.headers.push_back({"Content-Range", "bytes */" + std::to_string(size)});
    return r;
  }
  ByteRange span{0, size ? size - 1 : 0};
  if (*range) {
    span = **range;
    r.status = 206;
    r.headers.push_back(
        {"Content-Range", "bytes " + std::to_string(span.first) + "-" + std::to_string(span.last) + "/" + std::to_string(size)});
  }
  r.content_length = size ? span.last - span.first + 1 : 0;
  if (req.method == "HEAD") return r;
  r.file = std::make_shared<UniqueFd>(std::move(fd));
  r.file_offset = span.first;
  return r;
}

bool HubApi::answers_quickly(const std::string& method, const std::string& target) {
  if (method != "GET" && method != "HEAD") return false;
  if (target == "/") return true;
  HubRoute route = classify_route(target);
  return route == HubRoute::block || (route == HubRoute::flist && !target.ends_with(".md5"));
}

Result<HubResponse> HubApi::route(const HubRequest& req) {
  auto parsed = split_target(req.target);
  if (!parsed) return fail(Errc::invalid_input, "malformed escape in " + req.target);
  const auto& p = *parsed;
  const std::string& m = req.method;
  bool read = m == "GET" || m == "HEAD";

  if (p.empty() && read) return json_response(200, json{{"hub", "tiffin"}, {"blocks", public_url_}});
  if (p.size() == 1 && p[0] == "metrics" && m == "GET" && metrics_page_) {
    // Counters tell who is using the hub how much: open to the host itself, else to users.
    if (!is_loopback(req.client)) TRY(authenticate(req));
    HubResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_page_();
    return r;
  }
  if (p.size() >= 1 && p[0] == "api") {
    if (p.size() == 3 && p[1] == "blocks" && p[2] == "missing" && m == "POST") {
      std::vector<Hash> want = TRY(parse_block_ids(req.body, 100000));
      json out = json::array();
      for (const Hash& h : TRY(repo_.missing(want))) out.push_back(to_hex(h));
      return json_response(200, out);
    }
    if (p.size() == 3 && p[1] == "blocks" && p[2] == "batch" && m == "POST") return batch_blocks(repo_, req);
    // A layer chain kept by conversions (image/convert.hpp): the tree of an image's first
    // layers, so a node can run a layer that is the top of some other image (a snapshotter's
    // lower layers). Its blocks are this hub's; the file carries no routes.
    if (p.size() == 3 && p[1] == "layers" && read) {
      if (p[2].size() != 64 || p[2].find_first_not_of("0123456789abcdef") != std::string::npos)
        return fail(Errc::invalid_input, "not a layer chain id (64 lowercase hex): " + p[2]);
      return serve_file(req, repo_.root() + "/layers/" + p[2] + ".fl", "application/octet-stream");
    }
    if (p.size() >= 2 && p[1] == "flist") return flist_api(req, p);
    return fail(Errc::not_found, "no such API: " + m + " " + req.target);
  }
  // Blocks: /<aa>/<hex>, /blocks/<hex>.
  if (p.size() == 2 && p[1].size() == 64 && (p[0] == "blocks" || (p[0].size() == 2 && p[1].starts_with(p[0])))) {
    auto id = hash_from_hex(p[1]);
    if (!id) return fail(Errc::invalid_input, "not a block id: " + p[1]);
    if (read) return serve_file(req, repo_.block_path(*id), "application/octet-stream");
    if (m == "PUT" && p[0] == "blocks") {
      // Blocks are shared by everyone, so any valid token may add them; content addressing
      // means nobody can replace one with other bytes.
      TRY(authenticate(req));
      TRY(repo_.put_block(*id, {reinterpret_cast<const uint8_t*>(req.body.data()), req.body.size()}));
      return json_response(201, json{{"id", p[1]}});
    }
  }
  // 0-hub download paths: /<user>/<name>.fl and .fl.md5.
  if (p.size() == 2 && read) {
    bool md5 = p[1].ends_with(".fl.md5");
    if (md5 || p[1].ends_with(".fl")) {
      FlistRef ref = TRY(parse_flist_name(p[0], md5 ? p[1].substr(0, p[1].size() - 4) : p[1]));
      if (md5) {
        FlistInfo info = TRY(repo_.info(ref));
        HubResponse r;
        r.content_type = "text/plain";
        r.body = info.md5 + "\n";
        return r;
      }
      return serve_file(req, TRY(repo_.resolve(ref)), "application/octet-stream");
    }
  }
  return fail(Errc::not_found, "nothing at " + m + " " + req.target);
}

Result<HubResponse> HubApi::flist_api(const HubRequest& req, const std::vector<std::string>& p) {
  const std::string& m = req.method;
  if (p.size() == 2 && m == "GET") return json_response(200, json(TRY(repo_.users())));
  if (p.size() == 3 && m == "GET") {
    json out = json::array();
    for (const auto& i : TRY(repo_.list(p[2]))) out.push_back(info_json(i));
    return json_response(200, out);
  }
  if (p.size() < 4 || p.size() > 5) return fail(Errc::not_found, "no such API: " + m + " " + req.target);
  FlistRef ref = TRY(parse_flist_name(p[2], p[3]));
  if (p.size() == 5) {
    if (p[4] == "profile") return profile_api(req, ref);
    if (p[4] != "link" || m != "PUT") return fail(Errc::not_found, "no such API: " + m + " " + req.target);
    TRY(authorize(req, ref.user));
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("target") || !body["target"].is_string())
      return fail(Errc::invalid_input, R"(expected {"target": "<user>/<name>[:<tag>]"})");
    FlistRef target = TRY(parse_flist_ref(body["target"].get<std::string>()));
    return json_response(201, info_json(TRY(repo_.link(ref, target))));
  }
  if (m == "GET") {
    FlistInfo info = TRY(repo_.info(ref));
    json j = info_json(info);
    // A flist converted here says what from, while it is still the file that was converted.
    if (auto source = repo_.source(ref); source && *source && (*source)->flist_sha256 == info.sha256) {
      j["image"] = (*source)->image;
      j["digest"] = (*source)->digest;
      j["platform"] = (*source)->platform;
    }
    return json_response(200, j);
  }
  if (m == "DELETE") {
    TRY(authorize(req, ref.user));
    TRY(repo_.remove(ref));
    HubResponse r;
    r.status = 204;
    r.content_type.clear();
    return r;
  }
  if (m == "PUT") {
    TRY(authorize(req, ref.user));
    if (is_json(req.content_type)) return convert_api(req, ref);
    if (req.body_file.empty()) return fail(Errc::internal, "upload body was not streamed to a file");
    char magic[16] = {};
    UniqueFd fd(::open(req.body_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno("open " + req.body_file);
    ssize_t n = ::read(fd.get(), magic, sizeof magic);
    bool sqlite = n == 16 && std::string_view(magic, 16) == std::string_view("SQLite format 3\0", 16);
    FlistInfo info = sqlite ? TRY(repo_.put_flist(ref, req.body_file)) : TRY(repo_.put_tar(ref, req.body_file, public_url_));
    return json_response(201, info_json(info));
  }
  return fail(Errc::not_found, "no such API: " + m + " " + req.target);
}

HubResponse HubApi::convert_api(const HubRequest& req, const FlistRef& ref) {
  auto want = parse_convert_request(req.body);
  if (!want) return error_response(400, want.error().what());
  auto done = converter_->convert(ref, *want, public_url_);
  if (!done) {
    const Error& e = done.error();
    return error_response(is_upstream_error(e) ? 502 : status_for(e.kind), e.what());
  }
  json j = info_json(done->info);
  j["digest"] = done->digest;
  j["image"] = want->image;
  j["converted"] = !done->reused;
  j["layers"] = done->layers;
  j["layers_reused"] = done->layers_reused;
  return json_response(201, j);
}

}  // namespace tiffin::hub
