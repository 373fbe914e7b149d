// POST /build: docker build's classic builder (DOCKER_BUILDKIT=0), compose's `build:`, the
// SDKs' images.build. The context's tar (the server spooled it to an unnamed file) is unpacked
// into a private directory under <root>/tmp as docker cp's archives are — nothing leads out of
// it, no device nodes, bounded — then tiffin's builder runs on it and its lines go out as
// docker's {"stream"} messages; the directory goes when the request ends, however it ends.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <memory>

#include "api/build_query.hpp"
#include "api/engine_api.hpp"
#include "api/filters.hpp"
#include "build/build_cache.hpp"
#include "common/fd.hpp"
#include "common/remove_tree.hpp"
#include "common/text.hpp"
#include "flist/path_archive.hpp"

namespace tiffin::api {

using json = nlohmann::json;

namespace {

constexpr uint64_t kMaxContextBytes = uint64_t(4) << 30;  // what the context's files may add up to
constexpr uint64_t kMaxContextEntries = 1'000'000;
constexpr size_t kMaxQuietOutput = 4 << 20;  // a quiet build's output kept for its failure

// <root>/tmp/build-<random>: the context under it, the Dockerfile beside it (read from the
// context in its root, so a symlink there cannot name a file of the host). Removed with
// everything in it when the last reference goes.
class BuildDir {
 public:
  static Result<std::shared_ptr<BuildDir>> make(const std::string& root) {
    std::string tmp = root + "/tmp";
    if (::mkdir(tmp.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("making " + tmp);
    auto d = std::shared_ptr<BuildDir>(new BuildDir(tmp + "/build-" + TRY(engine::random_id()).substr(0, 16)));
    if (::mkdir(d->path_.c_str(), 0700) != 0) return fail_errno("making " + d->path_);
    d->made_ = true;
    if (::mkdir(d->context().c_str(), 0755) != 0) return fail_errno("making " + d->context());
    return d;
  }
  ~BuildDir() {
    if (made_) (void)remove_tree(path_);
  }
  BuildDir(const BuildDir&) = delete;
  BuildDir& operator=(const BuildDir&) = delete;

  std::string context() const { return path_ + "/context"; }
  std::string dockerfile() const { return path_ + "/Dockerfile"; }

 private:
  explicit BuildDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  bool made_ = false;
};

// The exit code docker's CLI leaves with: a RUN's own code (docker's JSONError code), else 1.
int failure_code(const std::string& message) {
  static constexpr std::string_view kRun = "returned a non-zero code: ";
  size_t at = message.rfind(kRun);
  if (at == std::string::npos) return 0;
  auto code = parse_uint<uint8_t>(std::string_view(message).substr(at + kRun.size()));
  return code ? *code : 0;
}

Result<void> prepare_context(const Request& r, const BuildDir& dir, const std::string& dockerfile) {
  ExtractOptions x;
  x.max_bytes = kMaxContextBytes;
  x.max_entries = kMaxContextEntries;
  x.refuse_special_files = true;
  auto unpacked = r.body_fd >= 0   ? extract_in_root_fd(dir.context(), "/", r.body_fd, x)
                  : r.body.empty() ? Result<void>()
                                   : extract_in_root(dir.context(), "/", r.body, x);
  if (!unpacked) {
    // A path the archive's own entries cannot reach (a file under a symlink that leads nowhere
    // in the context): the client's archive is at fault, not a missing thing of the server's.
    if (unpacked.error().kind == Errc::not_found || unpacked.error().sys_errno == ENOENT || unpacked.error().sys_errno == ENOTDIR ||
        unpacked.error().sys_errno == ELOOP)
      unpacked.error().kind = Errc::invalid_input;
    return std::unexpected(std::move(unpacked.error()).context("unpacking the build context"));
  }
  auto text = read_file_in_root(dir.context(), "/" + dockerfile, 16 << 20);
  if (!text && text.error().sys_errno == ENOENT) return fail(Errc::invalid_input, "Cannot locate specified Dockerfile: " + dockerfile);
  if (!text) return std::unexpected(std::move(text.error()).context("reading the Dockerfile"));
  TRY(write_file_atomic(dir.dockerfile(), *text, 0600, false));
  // The builder reads <context>/.dockerignore by its path: a symlink there is resolved in the
  // context now (as docker does), never outside it.
  std::string ignore = dir.context() + "/.dockerignore";
  struct stat st {};
  if (::lstat(ignore.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    auto patterns = read_file_in_root(dir.context(), "/.dockerignore", 4 << 20);
    if (::unlink(ignore.c_str()) != 0) return fail_errno("replacing the context's .dockerignore");
    if (patterns) TRY(write_file_atomic(ignore, *patterns, 0644, false));
    else if (patterns.error().sys_errno != ENOENT) return std::unexpected(std::move(patterns.error()).context("reading .dockerignore"));
  }
  return {};
}

}  // namespace

void add_build_endpoints(EngineApi& api) {
  api.route("POST", "/build", [&api](Request& r) -> Result<Response> {
    BuildQuery q = TRY(parse_build_query(r));
    auto dir = TRY(BuildDir::make(api.options().root));
    // Before the head goes out: a bad context or a missing Dockerfile is an error status.
    TRY(prepare_context(r, *dir, q.dockerfile));
    Response res;
    res.stream = [&api, dir, q = std::move(q)](Connection& conn) mutable {
      std::atomic<bool> gone = false;  // read by the build's stage threads through `cancelled`
      auto send = [&](const json& j) {
        if (!gone && !write_json_line(conn, j)) gone = true;
      };
      auto e = api.engine();
      if (!e) {
        send(json{{"errorDetail", {{"message", e.error().message}}}, {"error", e.error().message}});
        return;
      }
      std::string quiet_output;       // q: the lines, shown only if the build fails (as dockerd)
      std::vector<std::string> held;  // "Successfully …": after the image id, as dockerd sends them
      build::BuildOptions& o = q.options;
      o.context = dir->context();
      o.dockerfile = dir->dockerfile();
      o.handle_signals = false;
      o.progress = [&](std::string_view line) {
        std::string text = std::string(line) + "\n";
        if (q.quiet) {
          if (quiet_output.size() < kMaxQuietOutput) quiet_output += json_text(json{{"stream", text}}) + "\n";
        } else if (line.starts_with("Successfully built ") || line.starts_with("Successfully tagged ")) {
          held.push_back(std::move(text));
        } else {
          send(json{{"stream", text}});
        }
      };
      // The client left (docker build ^C'd, compose killed): the build stops at its next step
      // or within 200 ms of a RUN's streaming, its container and intermediate images removed.
      o.cancelled = [&] { return gone || client_left(conn); };
      auto built = build::build_image(*e, o);
      if (!built) {
        if (gone) return;
        if (q.quiet && !conn.write(quiet_output)) return;
        for (const auto& text : held) send(json{{"stream", text}});
        json detail = {{"message", built.error().message}};
        if (int code = failure_code(built.error().message)) detail["code"] = code;
        send(json{{"errorDetail", detail}, {"error", built.error().message}});
        return;
      }
      std::string id = "sha256:" + built->image.id;
      if (q.quiet) {
        send(json{{"stream", id + "\n"}});
        return;
      }
      send(json{{"aux", {{"ID", id}}}});
      for (const auto& text : held) send(json{{"stream", text}});
    };
    return res;
  });

  // docker builder prune: the cache's entries (all, or down to keep-storage bytes of content)
  // and then the blocks nothing names any more.
  api.route("POST", "/build/prune", [&api](Request& r) -> Result<Response> {
    build::PruneOptions o;
    if (std::string keep = r.arg("keep-storage"); !keep.empty()) {
      auto bytes = parse_uint<uint64_t>(keep);
      if (!bytes) return fail(Errc::invalid_input, "keep-storage: not a number of bytes: " + keep);
      o.keep_bytes = *bytes;
    }
    if (auto pairs = TRY(filter_pairs(r.arg("filters"))); !pairs.empty())
      return fail(Errc::invalid_input, "builder prune: filter " + pairs.front() + " is not supported (only keep-storage)");
    auto cache = TRY(build::BuildCache::open(api.options().root + "/build-cache"));
    auto removed = TRY(cache.prune(o));
    auto e = TRY(api.engine());
    auto freed = TRY(e.free_unused_blocks());
    return json_response(200, json{{"CachesDeleted", removed.keys}, {"SpaceReclaimed", freed.bytes_freed + removed.file_bytes}});
  });
}

}  // namespace tiffin::api
