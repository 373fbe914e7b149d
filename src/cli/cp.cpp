// tiffin cp [-a] CONTAINER:PATH DEST|-   and   tiffin cp [-a] SRC|- CONTAINER:PATH
// docker cp's rules: into an existing directory under the source's name, else under the
// destination's name (its parent must exist); "SRC/." copies a directory's contents; "-" is a
// tar on stdin or stdout.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "cli/cli.hpp"
#include "common/fd.hpp"
#include "flist/path_archive.hpp"

namespace tiffin::cli {

namespace fs = std::filesystem;

namespace {

struct Side {
  std::string container, path;  // container empty: the host
};

Side parse_side(const std::string& arg) {
  size_t colon = arg.find(':');
  // "./a:b" and "/a:b" are host paths, as docker reads them.
  if (colon == std::string::npos || colon == 0 || arg.starts_with("/") || arg.starts_with(".")) return {"", arg};
  return {arg.substr(0, colon), arg.substr(colon + 1)};
}

std::string base_name(const std::string& path) {
  std::string p = fs::path(path).lexically_normal().string();
  while (p.size() > 1 && p.ends_with("/")) p.pop_back();
  return fs::path(p).filename().string();
}

// Where and how a tar of `source_name` (its entries' top name) unpacks for the destination
// `dest`, given what is there (nullopt: nothing) and whether the source is a directory.
Result<std::pair<std::string, ExtractOptions>> placement(const std::string& dest, const std::optional<PathStat>& there, bool source_dir,
    bool contents_only, const std::string& source_name, bool keep) {
  ExtractOptions opts;
  opts.keep_owners = keep;
  opts.no_overwrite_dir_non_dir = true;  // as the docker CLI always asks
  if (there && S_ISDIR(there->mode)) {
    if (contents_only) opts.rebase_from = source_name, opts.rebase_to = "";
    return std::pair{dest, opts};
  }
  if (dest.ends_with("/")) return fail(Errc::not_found, "destination directory " + dest + " does not exist");
  if (there && source_dir) return fail(Errc::invalid_input, "cannot copy a directory to the file " + dest);
  std::string parent = fs::path(dest).lexically_normal().parent_path().string();
  opts.rebase_from = source_name;
  opts.rebase_to = base_name(dest);
  return std::pair{parent.empty() ? std::string(".") : parent, opts};
}

Result<std::string> read_stdin() {
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("reading stdin");
    if (n == 0) return data;
    data.append(buf, static_cast<size_t>(n));
  }
}

ByteSink append_to(std::string& out) {
  return [&out](std::span<const uint8_t> b) -> Result<void> {
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
    return {};
  };
}

}  // namespace

void add_cp(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string from, to;
    bool archive = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cp = app.add_subcommand("cp", "Copy files between a container and the host (CONTAINER:PATH on one side)");
  cp->add_option("source", o->from)->required();
  cp->add_option("destination", o->to)->required();
  cp->add_flag("-a,--archive", o->archive, "Keep owners (uid:gid); else the copies belong to root");
  cp->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      Side from = parse_side(o->from), to = parse_side(o->to);
      if (from.container.empty() == to.container.empty())
        return fail(Errc::invalid_input, "one of source and destination must be CONTAINER:PATH, the other a host path");
      auto e = TRY(ctx.open_engine());
      bool contents_only = from.path.ends_with("/.");
      if (!from.container.empty()) {  // out of the container
        std::string path = from.path.starts_with("/") ? from.path : "/" + from.path;
        PathStat s = TRY(e.stat_path(from.container, path));
        if (to.path == "-") {
          if (::isatty(STDOUT_FILENO)) return fail(Errc::invalid_input, "refusing to write a tar to a terminal");
          TRY(e.archive_path(from.container, path, [](std::span<const uint8_t> b) { return write_all(STDOUT_FILENO, b); }));
          return 0;
        }
        std::string tar;
        TRY(e.archive_path(from.container, path, append_to(tar)));
        std::string dest = fs::absolute(to.path).string() + (to.path.ends_with("/") ? "/" : "");
        auto there = stat_in_root("/", fs::path(dest).lexically_normal().string());
        auto [dir, opts] =
            TRY(placement(dest, there ? std::optional(*there) : std::nullopt, S_ISDIR(s.mode), contents_only, s.name, o->archive));
        TRY(extract_in_root("/", dir, tar, opts));
        return 0;
      }
      // Into the container.
      std::string dest = to.path.starts_with("/") ? to.path : "/" + to.path;
      if (from.path == "-") {
        TRY(e.extract_to(to.container, dest, TRY(read_stdin()), {o->archive, false, {}, {}}));
        return 0;
      }
      std::string source = fs::absolute(from.path).lexically_normal().string();
      while (source.size() > 1 && source.ends_with("/")) source.pop_back();
      PathStat s = TRY(stat_in_root("/", source));
      std::string tar;
      TRY(archive_in_root("/", source, append_to(tar)));
      auto there = e.stat_path(to.container, dest);
      if (!there && there.error().kind != Errc::not_found) return std::unexpected(there.error());
      auto [dir, opts] =
          TRY(placement(dest, there ? std::optional(*there) : std::nullopt, S_ISDIR(s.mode), contents_only, s.name, o->archive));
      TRY(e.extract_to(to.container, dir, tar, opts));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
