// /images/…: list, inspect, create (pull, with docker's progress messages), tag, remove, prune.
#include <fcntl.h>

#include <algorithm>
#include <unistd.h>

#include "api/docker_view.hpp"
#include "api/engine_api.hpp"
#include "api/filters.hpp"

namespace tiffin::api {

using json = nlohmann::json;

namespace {

// The docker CLI sends names in full (docker.io/library/busybox); the store has docker's short
// form (busybox, user/app).
std::string familiar_name(std::string name) {
  for (const char* prefix : {"docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"})
    if (name.starts_with(prefix)) return name.substr(std::string_view(prefix).size());
  return name;
}

// Docker clients name images by "sha256:<id>" too.
std::string image_ref(std::string ref) {
  if (ref.starts_with("sha256:")) ref = ref.substr(7);
  return familiar_name(ref);
}

Result<engine::ImageInfo> find_image(engine::Engine& e, const std::string& ref) {
  auto found = e.resolve_image(image_ref(ref), "never");
  if (!found && found.error().kind == Errc::not_found) return fail(Errc::not_found, "No such image: " + ref);
  return found;
}

}  // namespace

void add_image_endpoints(EngineApi& api) {
  api.route("GET", "/images/json", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    auto pairs = TRY(filter_pairs(r.arg("filters")));
    json arr = json::array();
    for (auto i : TRY(e.images())) {
      bool keep = true;
      for (const auto& p : pairs) {
        std::string key = p.substr(0, p.find('=')), value = familiar_name(p.substr(p.find('=') + 1));
        if (key == "reference") {
          // As docker: only the tags that match are listed.
          std::erase_if(i.tags, [&](const std::string& t) { return t != value && t.substr(0, t.rfind(':')) != value; });
          keep = keep && !i.tags.empty();
        } else if (key == "dangling") {
          keep = keep && ((value == "true") == i.tags.empty());
        } else {
          return fail(Errc::invalid_input, "invalid filter '" + key + "'");
        }
      }
      if (keep) arr.push_back(image_list_json(i));
    }
    return json_response(200, arr);
  });

  api.route("GET", "/images/{name*}/json", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    return json_response(200, image_inspect_json(e, TRY(find_image(e, r.params["name"]))));
  });

  api.route("POST", "/images/create", [&api](Request& r) -> Result<Response> {
    std::string from = r.arg("fromImage");
    if (from.empty()) return fail(Errc::unsupported, "importing images (fromSrc) is not supported: use tiffin import");
    std::string tag = r.arg("tag");
    std::string ref = from;
    if (!tag.empty()) ref += (tag.starts_with("sha256:") ? "@" : ":") + tag;
    Response res;
    // docker's progress stream: JSON messages, an error as the last one (the status is 200).
    res.stream = [&api, ref, platform = r.arg("platform")](Connection& conn) {
      (void)write_json_line(conn, json{{"status", "Pulling from " + ref}});
      auto e = api.engine();
      if (!e) {
        (void)write_json_line(conn, json{{"errorDetail", {{"message", e.error().message}}}, {"error", e.error().message}});
        return;
      }
      auto got = e->resolve_image(ref, "always");
      if (!got) {
        (void)write_json_line(conn, json{{"errorDetail", {{"message", got.error().message}}}, {"error", got.error().message}});
        return;
      }
      std::string digest = engine::image_digest(*got);
      if (!digest.empty()) (void)write_json_line(conn, json{{"status", "Digest: " + digest}});
      (void)write_json_line(conn, json{{"status", "Status: Downloaded newer image for " + ref}});
    };
    return res;
  });

  api.route("POST", "/images/{name*}/tag", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    auto image = TRY(find_image(e, r.params["name"]));
    std::string repo = r.arg("repo");
    if (repo.empty()) return fail(Errc::invalid_input, "repository name (repo) is required");
    TRY(e.tag_image(image.id, familiar_name(repo) + ":" + r.arg("tag", "latest")));
    return empty_response(201);
  });

  api.route("DELETE", "/images/{name*}", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    TRY(find_image(e, r.params["name"]));
    json arr = json::array();
    for (const auto& line : TRY(e.remove_image(image_ref(r.params["name"]), r.flag("force")))) {
      size_t colon = line.find(": ");
      if (colon != std::string::npos) arr.push_back({{line.substr(0, colon), line.substr(colon + 2)}});
    }
    return json_response(200, arr);
  });

  api.route("GET", "/images/{name*}/history", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    auto image = TRY(find_image(e, r.params["name"]));
    // An flist is one layer: the image's whole tree, made when it was pulled, loaded or packed.
    json tags = image.tags.empty() ? json(nullptr) : json(image.tags);
    return json_response(200, json::array({{{"Id", "sha256:" + image.id}, {"Created", image.created},
                                  {"CreatedBy", "tiffin: " + image.source}, {"Tags", tags}, {"Size", image.size}, {"Comment", ""}}}));
  });

  // docker save: the images as one archive, spooled to a file first (a failure is then still
  // an error status, not a cut stream).
  auto save = [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::vector<std::string> names = r.params.count("name") ? std::vector<std::string>{r.params["name"]} : r.args("names");
    if (names.empty()) return fail(Errc::invalid_input, "no images named (names=)");
    for (auto& n : names) n = image_ref(n), TRY(find_image(e, n));
    std::string spool = api.options().root + "/tmp/api-save-" + TRY(engine::random_id()).substr(0, 16) + ".tar";
    TRY(e.save(names, spool));
    UniqueFd fd(::open(spool.c_str(), O_RDONLY | O_CLOEXEC));
    ::unlink(spool.c_str());
    if (!fd) return fail_errno("opening " + spool);
    Response res;
    res.content_type = "application/x-tar";
    res.stream = [fd = std::make_shared<UniqueFd>(std::move(fd))](Connection& conn) {
      std::string buf(1 << 20, '\0');
      for (;;) {
        ssize_t n = ::read(fd->get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || !conn.write(std::string_view(buf.data(), static_cast<size_t>(n)))) return;
      }
    };
    return res;
  };
  api.route("GET", "/images/get", save);
  api.route("GET", "/images/{name*}/get", save);

  // docker load: the archive in the body (bounded by the server's body limit).
  api.route("POST", "/images/load", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string spool = api.options().root + "/tmp/api-load-" + TRY(engine::random_id()).substr(0, 16) + ".tar";
    auto loaded = [&]() -> Result<std::vector<engine::ImageInfo>> {
      TRY(write_file_atomic(spool, r.body, 0600, false));
      return e.load(spool);
    }();
    ::unlink(spool.c_str());
    if (!loaded) return std::unexpected(loaded.error());
    std::string lines;
    for (const auto& info : *loaded) {
      if (info.tags.empty()) lines += json_text(json{{"stream", "Loaded image ID: sha256:" + info.id + "\n"}}) + "\n";
      for (const auto& t : info.tags) lines += json_text(json{{"stream", "Loaded image: " + t + "\n"}}) + "\n";
    }
    Response res = json_response(200, nullptr);
    res.body = lines;
    return res;
  });

  // docker push: docker's progress messages, an error as the last one (the status is 200).
  api.route("POST", "/images/{name*}/push", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string name = r.params["name"];
    if (!r.arg("tag").empty()) name += ":" + r.arg("tag");
    auto image = TRY(find_image(e, name));
    Response res;
    res.stream = [&api, name, image](Connection& conn) {
      size_t slash = name.rfind('/'), colon = name.rfind(':');
      bool tagged = colon != std::string::npos && (slash == std::string::npos || colon > slash);
      std::string repo = tagged ? name.substr(0, colon) : name, tag = tagged ? name.substr(colon + 1) : "latest";
      (void)write_json_line(conn, json{{"status", "The push refers to repository [" + repo + "]"}});
      auto pushed = [&]() -> Result<std::string> { return TRY(api.engine()).push_to_registry(image.id, repo + ":" + tag, {}); }();
      if (!pushed) {
        (void)write_json_line(conn, json{{"errorDetail", {{"message", pushed.error().message}}}, {"error", pushed.error().message}});
        return;
      }
      (void)write_json_line(conn, json{{"status", tag + ": digest: " + *pushed + " size: " + std::to_string(image.size)}});
      (void)write_json_line(
          conn, json{{"progressDetail", json::object()}, {"aux", {{"Tag", tag}, {"Digest", *pushed}, {"Size", image.size}}}});
    };
    return res;
  });

  api.route("POST", "/images/prune", [&api](Request&) -> Result<Response> {
    auto e = TRY(api.engine());
    json deleted = json::array();
    for (const auto& i : TRY(e.images())) {
      if (!i.tags.empty()) continue;
      auto gone = e.remove_image(i.id, false);
      if (gone) deleted.push_back({{"Deleted", "sha256:" + i.id}});
    }
    auto freed = TRY(e.free_unused_blocks());
    return json_response(200, json{{"ImagesDeleted", deleted}, {"SpaceReclaimed", freed.bytes_freed}});
  });
}

}  // namespace tiffin::api
