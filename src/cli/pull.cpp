// tiffin pull REF: an OCI image from a registry (converted into an flist) or a hub's flist;
// with --hub, a registry image that the hub converts and serves (blocks fetched lazily).
#include <fmt/core.h>

#include "cli/cli.hpp"
#include "common/progress.hpp"
#include "hub/push.hpp"

namespace tiffin::cli {

void add_pull(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string where, output, hub, token;
    engine::PullOptions pull;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* pull = app.add_subcommand("pull", "Fetch an image: from a registry (converted to an flist) or a hub's flist");
  pull->add_option("image", o->where,
          "alpine, host:5000/repo:tag, repo@sha256:…, docker://…, or a hub's http(s)://hub/<user>/<name>[:tag] or hub/<user>/<name>[:tag]")
      ->required();
  pull->add_option("--platform", o->pull.platform, "os/arch[/variant] of a multi-platform image (default: this host's)");
  pull->add_option("--tls-verify", o->pull.tls_verify, "Verify registries' TLS certificates (false: also plain http)")->default_val(true);
  pull->add_flag("-q,--quiet", o->quiet, "No progress, only the image's name");
  pull->add_option("--hub", o->hub, "http(s)://hub/<user>: have this hub convert the registry image, then pull its flist");
  pull->add_option("--token", o->token, "With --hub: the user's write token")->envname("TIFFIN_HUB_TOKEN");
  pull->add_option("-o,--output", o->output, "A hub flist: write the .fl here instead of adding it to the store");
  pull->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      if (!o->hub.empty() && !o->output.empty()) return fail(Errc::invalid_input, "--hub and --output do not go together");
      if (o->output.empty()) {
        if (o->quiet) ctx.engine.progress = false;
        auto e = TRY(ctx.open_engine());
        auto info = o->hub.empty() ? TRY(e.pull(o->where, o->pull)) : TRY(e.pull_through_hub(o->hub, o->where, o->token, o->pull));
        if (!o->quiet) fmt::print(stderr, "pulled {} → image {}\n", o->where, engine::short_id(info.id));
        fmt::print("{}\n", info.tags.empty() ? info.id : info.tags.front());
        return 0;
      }
      auto from = TRY(hub::parse_hub_location(o->where));
      uint64_t size = TRY(hub::pull_flist(from, o->output));
      fmt::print(stderr, "pulled {} ({}) → {}\n", from.ref.str(), human_bytes(size), o->output);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
