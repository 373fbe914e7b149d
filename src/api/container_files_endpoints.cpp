// A container's files: /containers/{id}/archive (HEAD, GET, PUT: what `docker cp` uses) and
// /containers/{id}/changes (`docker diff`).
#include <sodium.h>
#include <sys/stat.h>

#include "api/docker_view.hpp"
#include "api/engine_api.hpp"
#include "flist/path_archive.hpp"

namespace tiffin::api {

using json = nlohmann::json;

namespace {

// Go's os.FileMode, which docker's clients decode the stat with (IsDir, the link bit …).
uint32_t go_file_mode(mode_t m) {
  uint32_t mode = m & 0777;
  if (S_ISDIR(m)) mode |= 1u << 31;
  if (S_ISLNK(m)) mode |= 1u << 27;
  if (S_ISBLK(m)) mode |= 1u << 26;
  if (S_ISCHR(m)) mode |= (1u << 26) | (1u << 21);
  if (S_ISFIFO(m)) mode |= 1u << 25;
  if (S_ISSOCK(m)) mode |= 1u << 24;
  if (m & S_ISUID) mode |= 1u << 23;
  if (m & S_ISGID) mode |= 1u << 22;
  if (m & S_ISVTX) mode |= 1u << 20;
  return mode;
}

std::string base64(const std::string& bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(
      out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // its NUL
  return out;
}

// X-Docker-Container-Path-Stat: the path's stat as base64 JSON.
std::pair<std::string, std::string> stat_header(const PathStat& s) {
  json j = {{"name", s.name}, {"size", s.size}, {"mode", go_file_mode(s.mode)}, {"mtime", rfc3339(s.mtime)}, {"linkTarget", s.link_target}};
  return {"X-Docker-Container-Path-Stat", base64(json_text(j))};
}

Result<std::string> path_arg(const Request& r) {
  std::string path = r.arg("path");
  if (path.empty()) return fail(Errc::invalid_input, "path is required");
  return path.starts_with("/") ? path : "/" + path;  // docker: relative to the container's root
}

}  // namespace

void add_container_files_endpoints(EngineApi& api) {
  auto stat = [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    auto s = TRY(e.stat_path(id, TRY(path_arg(r))));
    Response res = empty_response(200);
    res.headers.push_back(stat_header(s));
    return res;
  };
  api.route("HEAD", "/containers/{id}/archive", stat);

  api.route("GET", "/containers/{id}/archive", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    std::string path = TRY(path_arg(r));
    auto s = TRY(e.stat_path(id, path));  // a missing path is a 404 before the stream
    Response res;
    res.content_type = "application/x-tar";
    res.headers.push_back(stat_header(s));
    res.stream = [&api, id, path](Connection& conn) {
      auto e = api.engine();
      if (!e) return;
      // The head went out: a failure half way can only cut the tar short.
      (void)e->archive_path(id, path, [&](std::span<const uint8_t> bytes) {
        return conn.write({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
      });
    };
    return res;
  });

  api.route("PUT", "/containers/{id}/archive", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    ExtractOptions opts;
    opts.keep_owners = r.flag("copyUIDGID");
    opts.no_overwrite_dir_non_dir = r.flag("noOverwriteDirNonDir");
    TRY(e.extract_to(id, TRY(path_arg(r)), r.body, opts));
    return empty_response(200);
  });

  api.route("GET", "/containers/{id}/changes", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    json arr = json::array();
    for (const auto& c : TRY(e.changes(TRY(container_id(e, r.params["id"])))))
      arr.push_back({{"Path", c.path}, {"Kind", static_cast<int>(c.kind)}});
    return json_response(200, arr);
  });
}

}  // namespace tiffin::api
