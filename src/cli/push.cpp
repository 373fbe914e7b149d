// tiffin push IMAGE|x.fl DESTINATION: to a hub (<hub>/<user>/<name>[:tag]: the flist and the
// blocks it lacks) or to a registry (docker://ref, or host[:port]/repo:tag when the host answers
// as a registry: an OCI image of one layer).
#include <fmt/core.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "common/progress.hpp"
#include "hub/push.hpp"
#include "image/reference.hpp"
#include "image/registry_source.hpp"

namespace tiffin::cli {

void add_push(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string flist, where, format;
    hub::PushOptions push;
    engine::PullOptions registry;
    bool no_progress = false, zstd = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* push = app.add_subcommand("push", "Upload an image: to a hub (the flist and the blocks it lacks) or to a registry");
  push->add_option("flist", o->flist, "The .fl to push, or an image of the local store")->required();
  push->add_option("destination", o->where, "http(s)://hub/<user>/<name>[:tag], or a registry: docker://ref or host[:port]/repo[:tag]")
      ->required();
  push->add_option("--tls-verify", o->registry.tls_verify, "Registries: verify TLS certificates (false: also plain http)")
      ->default_val(true);
  push->add_flag("--zstd", o->zstd, "Registries: compress the layer with zstd instead of gzip");
  push->add_option("--token", o->push.token, "Write token (tiffin hub token)")->envname("TIFFIN_HUB_TOKEN");
  push->add_option("-s,--store", o->push.stores, "Read blocks from these stores instead of the flist's routes");
  push->add_option("-j,--jobs", o->push.threads, "Parallel block uploads")->capture_default_str();
  push->add_option("--format", o->format, "text or json");
  push->add_flag("--no-progress", o->no_progress, "Never draw a progress bar");
  push->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      bool registry = o->where.starts_with("docker://");
      if (!registry && !o->where.starts_with("http://") && !o->where.starts_with("https://"))
        if (auto ref = image::parse_reference(o->where)) registry = image::answers_as_registry(*ref, o->registry.tls_verify);
      if (registry) {
        auto e = TRY(ctx.open_engine());
        std::string digest = TRY(e.push_to_registry(o->flist, o->where, o->registry, o->zstd));
        fmt::print(stderr, "pushed {} → {}\n", o->flist, o->where);
        fmt::print("{}\n", digest);
        return 0;
      }
      auto to = TRY(hub::parse_hub_location(o->where));
      o->push.progress = !o->no_progress;
      if (::access(o->flist.c_str(), F_OK) != 0) {
        auto e = TRY(ctx.open_engine());
        o->flist = TRY(e.resolve_image(o->flist, "never")).flist;
      }
      auto s = TRY(hub::push_flist(o->flist, to, o->push));
      if (want_json(o->format))
        print_json(nlohmann::json{{"url", s.url}, {"blocks", s.blocks}, {"blocks_sent", s.blocks_sent}, {"bytes_sent", s.bytes_sent},
                       {"flist_bytes", s.flist_bytes}},
            -1);
      else
        fmt::print(stderr, "pushed {}: {} of {} blocks sent ({}), flist {}\n", s.url, s.blocks_sent, s.blocks, human_bytes(s.bytes_sent),
            human_bytes(s.flist_bytes));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
