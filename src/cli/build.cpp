// tiffin build [-t NAME[:TAG]]… [-f Dockerfile] [--build-arg K=V]… [--target STAGE] [--no-cache]
//   [--platform P] [--progress auto|plain] [--network bridge|none|host] [-q] CONTEXT
// tiffin builder prune [--keep-storage SIZE] [--filter until=DURATION] | tiffin builder du
// (tiffin-full: builds pack files and mount images.)
#include <fmt/core.h>
#include <unistd.h>

#include <cstdlib>

#include "build/build_cache.hpp"
#include "build/builder.hpp"
#include "cli/cli.hpp"
#include "cli/container_flags.hpp"

namespace tiffin::cli {
namespace {

Result<std::map<std::string, std::string>> build_args(const std::vector<std::string>& given) {
  std::map<std::string, std::string> out;
  for (const auto& a : given) {
    size_t eq = a.find('=');
    if (eq == 0) return fail(Errc::invalid_input, "--build-arg " + a + ": no name");
    if (eq != std::string::npos) {
      out[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (const char* v = std::getenv(a.c_str())) {  // docker: a bare name takes our environment's value
      out[a] = v;
    }
  }
  return out;
}

std::string human(uint64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1000 && u + 1 < std::size(units)) v /= 1000, ++u;
  return u ? fmt::format("{:.3g}{}", v, units[u]) : fmt::format("{}B", bytes);
}

}  // namespace

void add_build(CLI::App& app, Context& ctx) {
  struct BuildArgs {
    build::BuildOptions o;
    std::vector<std::string> args;
    std::string progress = "auto";
    bool quiet = false;
  };
  auto a = std::make_shared<BuildArgs>();
  CLI::App* cmd = app.add_subcommand("build", "Build an image from a Dockerfile");
  cmd->add_option("context", a->o.context, "The build context directory")->required();
  cmd->add_option("-t,--tag", a->o.tags, "name[:tag] for the image (repeatable)");
  cmd->add_option("-f,--file", a->o.dockerfile, "The Dockerfile (default: CONTEXT/Dockerfile)");
  cmd->add_option("--build-arg", a->args, "A build argument KEY=value (KEY alone: from the environment)");
  cmd->add_option("--target", a->o.target, "The stage to build (default: the last)");
  cmd->add_flag("--no-cache", a->o.no_cache, "Run every step, taking nothing from the cache");
  cmd->add_option("--platform", a->o.platform, "The platform to build for (only the host's: linux/amd64)");
  cmd->add_option("--progress", a->progress, "auto or plain: step lines and RUN output on stderr")
      ->check(CLI::IsMember({"auto", "plain", "tty", "quiet"}));
  cmd->add_option("--network", a->o.network, "RUN's network: bridge (default), none or host")
      ->check(CLI::IsMember({"bridge", "default", "none", "host"}));
  cmd->add_flag("-q,--quiet", a->quiet, "Print only the image id");
  cmd->callback([&ctx, a] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      if (a->o.network == "default") a->o.network = "bridge";
      a->o.build_args = TRY(build_args(a->args));
      if (!a->quiet && a->progress != "quiet") a->o.progress = [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
      auto r = TRY(build::build_image(e, a->o));
      fmt::print("sha256:{}\n", r.image.id);
      return 0;
    });
  });

  CLI::App* builder = app.add_subcommand("builder", "The build cache");
  builder->require_subcommand(1);
  struct PruneArgs {
    std::string keep, filter;
    bool force = false;
  };
  auto p = std::make_shared<PruneArgs>();
  CLI::App* prune = builder->add_subcommand("prune", "Remove build cache entries, least recently used first");
  prune->add_option("--keep-storage", p->keep, "Keep at most this much content (e.g. 2g); default: remove all");
  prune->add_option("--filter", p->filter, "until=DURATION: only entries unused for that long (e.g. 24h)");
  prune->add_flag("-f,--force,-a,--all", p->force, "Accepted for docker's sake: nothing is asked");
  prune->callback([&ctx, p] {
    ctx.run([&]() -> Result<int> {
      auto cache = TRY(build::BuildCache::open(ctx.engine.root + "/build-cache"));
      build::PruneOptions o;
      if (!p->keep.empty()) o.keep_bytes = static_cast<uint64_t>(TRY(parse_size(p->keep)));
      if (!p->filter.empty()) {
        if (!p->filter.starts_with("until=")) return fail(Errc::invalid_input, "--filter " + p->filter + ": only until=DURATION is known");
        o.unused_for_seconds = TRY(parse_duration(p->filter.substr(6))) / 1'000'000'000;
      }
      auto removed = TRY(cache.prune(o));
      // The entries' content is blocks of the node's store, shared with images and other
      // entries: what is reclaimed is what no flist names any more.
      auto e = TRY(ctx.open_engine());
      auto freed = TRY(e.free_unused_blocks());
      fmt::print(
          "Deleted build cache objects: {}\nTotal reclaimed space: {}\n", removed.entries, human(freed.bytes_freed + removed.file_bytes));
      return 0;
    });
  });
  CLI::App* du = builder->add_subcommand("du", "What the build cache holds");
  du->callback([&ctx] {
    ctx.run([&]() -> Result<int> {
      auto cache = TRY(build::BuildCache::open(ctx.engine.root + "/build-cache"));
      auto u = TRY(cache.usage());
      fmt::print(
          "Entries: {}\nContent: {} ({} bytes)\nMetadata: {} bytes\n", u.entries, human(u.content_bytes), u.content_bytes, u.file_bytes);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
