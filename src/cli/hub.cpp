// tiffin hub serve | token | gc | ls | link | rm | convert | sync — running hubs, and what they
// hold. `hub gc` works on the root directly, in its own process, and is safe to run while
// `hub serve` serves the same root (hub_gc.hpp says why).
#include <fmt/core.h>

#include "cli/cli.hpp"
#include "common/text.hpp"
#include "hub/hub_client.hpp"
#include "hub/hub_gc.hpp"
#include "hub/hub_server.hpp"
#include "hub/hub_sync.hpp"
#include "hub/hub_token.hpp"

namespace tiffin::cli {
namespace {

// "90", "90s", "15m", "24h", "7d" → seconds; "0" only when `zero_ok`.
Result<std::chrono::seconds> parse_duration(const std::string& s, bool zero_ok = false) {
  size_t digits = s.find_first_not_of("0123456789");
  // (A bare number has no unit: npos, which `digits + 1` would wrap to 0.)
  if (digits == 0 || s.empty() || (digits != std::string::npos && digits + 1 < s.size()) || s.size() > 12)
    return fail(Errc::invalid_input, "'" + s + "' is not a duration (e.g. 3600, 90m, 24h, 7d)");
  int64_t n = parse_int<int64_t>(std::string_view(s).substr(0, digits)).value_or(0);
  char unit = digits == std::string::npos ? 's' : s[digits];
  int64_t scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
  if (!scale || n < 0 || (n == 0 && !zero_ok)) return fail(Errc::invalid_input, "'" + s + "' is not a duration (e.g. 3600, 90m, 24h, 7d)");
  return std::chrono::seconds(n * scale);
}

nlohmann::json sync_report_json(const hub::SyncReport& r) {
  return {{"flists_copied", r.flists_copied}, {"flists_unchanged", r.flists_unchanged}, {"flists_removed", r.flists_removed},
      {"links_made", r.links_made}, {"links_unchanged", r.links_unchanged}, {"blocks_fetched", r.blocks_fetched},
      {"bytes_fetched", r.bytes_fetched}, {"flist_bytes", r.flist_bytes}, {"seconds", r.seconds}, {"failures", r.failures}};
}

void print_sync_report(const hub::SyncReport& r, bool json) {
  for (const auto& f : r.failures) fmt::print(stderr, "not copied: {}\n", f);
  if (json) {
    print_json(sync_report_json(r), -1);
  } else {
    fmt::print("flists: {} copied, {} unchanged, {} removed; links: {} made, {} unchanged; blocks: {} fetched ({} bytes) in {:.2f}s\n",
        r.flists_copied, r.flists_unchanged, r.flists_removed, r.links_made, r.links_unchanged, r.blocks_fetched, r.bytes_fetched,
        r.seconds);
  }
  std::fflush(stdout);  // --interval: each round shows as it ends, also through a pipe
}

void print_json_or(const nlohmann::json& j, bool json, const std::function<void()>& text) {
  if (json) print_json(j);
  else text();
}

}  // namespace

void add_hub(CLI::App& app, Context& ctx) {
  CLI::App* hub = app.add_subcommand("hub", "Run a hub (flists and blocks over HTTP) and manage what it holds");
  hub->require_subcommand(1);

  auto so = std::make_shared<hub::HubServeOptions>();
  auto idle = std::make_shared<unsigned>(60);
  auto max_block_mib = std::make_shared<size_t>(8);
  auto max_upload_mib = std::make_shared<uint64_t>(8192);
  auto header_timeout = std::make_shared<unsigned>(10);
  auto body_grace = std::make_shared<unsigned>(10);
  auto body_memory_mib = std::make_shared<uint64_t>(512);
  CLI::App* serve = hub->add_subcommand("serve", "Serve a hub until SIGTERM/SIGINT");
  serve->add_option("--root", so->root, "Where blocks and flists live")->capture_default_str();
  serve->add_option("-l,--listen", so->listen, "host:port to listen on (port 0: any free one)")->capture_default_str();
  serve->add_option("--public-url", so->public_url, "How nodes reach this hub (routes of flists packed here)");
  serve->add_option("--insecure-registry", so->insecure_registries,
      "host:port of a registry that conversions reach over plain http (loopback ones always are)");
  serve->add_option("--key-file", so->key_file, "Token signing key (default <root>/hub.key, made on first start)");
  serve->add_option("--tls-cert", so->tls_cert, "PEM certificate chain: serve HTTPS");
  serve->add_option("--tls-key", so->tls_key, "PEM private key for --tls-cert");
  serve->add_option("--max-connections", so->max_connections, "Open connections at most (more get 503)")->capture_default_str();
  serve
      ->add_option("--max-client-connections", so->clients.max_connections_per_client,
          "Open connections per client address at most (0: no limit; more get 429)")
      ->capture_default_str();
  serve->add_option("--rate-limit", so->clients.requests_per_second, "Requests/s per client address (0: no limit; more get 429)")
      ->capture_default_str();
  serve->add_option("--rate-burst", so->clients.request_burst, "Requests a client may send at once above its rate")->capture_default_str();
  serve->add_option("--idle-timeout", *idle, "Seconds a connection may stay silent between requests")->capture_default_str();
  serve->add_option("--header-timeout", *header_timeout, "Seconds a request header may take from its first byte")->capture_default_str();
  serve->add_option("--min-body-rate", so->min_body_rate, "Bytes/s a request body or an answer must keep up after --body-grace")
      ->capture_default_str();
  serve->add_option("--max-body-memory", *body_memory_mib, "MiB that in-memory request bodies may take in all (more get 503)")
      ->capture_default_str();
  serve->add_option("--body-grace", *body_grace, "Seconds before --min-body-rate applies to a body or an answer")->capture_default_str();
  serve->add_option("--max-queued", so->max_queued, "Requests on or waiting for a worker at most (more get 503)")->capture_default_str();
  serve->add_option("--workers", so->workers, "Threads for requests that do work (uploads, listings, conversions)")->capture_default_str();
  serve->add_option("--io-threads", so->io_threads, "Threads that hold connections and send blocks (0: one per CPU)")
      ->capture_default_str();
  serve->add_option("--max-block-size", *max_block_mib, "Largest block accepted, MiB")->capture_default_str();
  serve->add_option("--max-upload", *max_upload_mib, "Largest flist or tar upload, MiB")->capture_default_str();
  serve->callback([&ctx, so, idle, max_block_mib, max_upload_mib, header_timeout, body_grace, body_memory_mib] {
    ctx.run([&]() -> Result<int> {
      if (so->tls_cert.empty() != so->tls_key.empty()) return fail(Errc::invalid_input, "--tls-cert and --tls-key go together");
      so->idle_timeout = std::chrono::seconds(*idle);
      so->header_timeout = std::chrono::seconds(*header_timeout);
      so->body_grace = std::chrono::seconds(*body_grace);
      so->max_body_memory = *body_memory_mib << 20;
      so->limits.max_block = *max_block_mib << 20;
      so->max_upload = *max_upload_mib << 20;
      TRY(hub::serve_hub(*so));
      return 0;
    });
  });

  struct TokenOpts {
    std::string root = "/var/lib/tiffin/hub", key_file, user, ttl = "24h";
  };
  auto to = std::make_shared<TokenOpts>();
  CLI::App* token = hub->add_subcommand("token", "Print a write token for a user of a hub on this machine");
  token->add_option("--root", to->root, "The hub's root")->capture_default_str();
  token->add_option("--key-file", to->key_file, "Signing key (default <root>/hub.key)");
  token->add_option("-u,--user", to->user, "The user the token writes as")->required();
  token->add_option("--ttl", to->ttl, "Validity, e.g. 3600, 90m, 24h, 7d")->capture_default_str();
  token->callback([&ctx, to] {
    ctx.run([&]() -> Result<int> {
      if (!hub::valid_name(to->user)) return fail(Errc::invalid_input, "invalid user name '" + to->user + "'");
      auto ttl = TRY(parse_duration(to->ttl));
      auto key = TRY(hub::load_hub_key(to->key_file.empty() ? to->root + "/hub.key" : to->key_file, false));
      fmt::print("{}\n", hub::issue_token(key, to->user, ttl));
      return 0;
    });
  });

  struct GcOpts {
    std::string root = "/var/lib/tiffin/hub", grace = "1h";
    bool dry_run = false, json = false;
  };
  auto gc = std::make_shared<GcOpts>();
  CLI::App* gcc = hub->add_subcommand("gc", "Free the blocks no flist of any user references (safe while the hub serves)");
  gcc->add_option("--root", gc->root, "The hub's root")->capture_default_str();
  gcc->add_flag("--dry-run", gc->dry_run, "Report what would be freed; delete nothing");
  gcc->add_option("--grace", gc->grace, "Keep unreferenced blocks younger than this (3600, 30m, 1h; 0: none)")->capture_default_str();
  gcc->add_flag("--json", gc->json, "Print the report as JSON");
  gcc->callback([&ctx, gc] {
    ctx.run([&]() -> Result<int> {
      hub::GcOptions opts{gc->dry_run, TRY(parse_duration(gc->grace, true))};
      hub::GcReport r = TRY(hub::collect_garbage(gc->root, opts));
      nlohmann::json j{{"dry_run", gc->dry_run}, {"flists_scanned", r.flists_scanned}, {"blocks_scanned", r.blocks_scanned},
          {"blocks_marked", r.blocks_marked}, {"blocks_young", r.blocks_young}, {"blocks_freed", r.blocks_freed},
          {"bytes_freed", r.bytes_freed}, {"temp_files_freed", r.temp_files_freed}, {"profiles_freed", r.profiles_freed},
          {"seconds", r.seconds}};
      print_json_or(j, gc->json, [&] {
        fmt::print("{} {} blocks ({} bytes), {} temp files, {} stale profiles in {:.2f}s\n", gc->dry_run ? "would free" : "freed",
            r.blocks_freed, r.bytes_freed, r.temp_files_freed, r.profiles_freed, r.seconds);
        fmt::print("{} flists read, {} blocks referenced, {} blocks on disk, {} unreferenced kept (younger than {})\n", r.flists_scanned,
            r.blocks_marked, r.blocks_scanned, r.blocks_young, gc->grace);
      });
      return 0;
    });
  });

  struct ClientOpts {
    std::string where, target, token, format;
  };
  auto co = std::make_shared<ClientOpts>();
  CLI::App* ls = hub->add_subcommand("ls", "List a hub's users, or a user's flists: <hub-url>[/<user>]");
  ls->add_option("url", co->where, "http(s)://hub[/user]")->required();
  ls->add_option("--format", co->format, "text or json");
  ls->callback([&ctx, co] {
    ctx.run([&]() -> Result<int> {
      std::string url = co->where;
      while (url.ends_with("/")) url.pop_back();
      size_t slash = url.rfind('/');
      std::string user;
      if (slash != std::string::npos && url.find("://") != std::string::npos && slash > url.find("://") + 2) {
        user = url.substr(slash + 1);
        url.resize(slash);
      }
      hub::HubClient client(url, "");
      nlohmann::json j = TRY(client.list(user));
      print_json_or(j, want_json(co->format), [&] {
        for (const auto& e : j) {
          if (e.is_string()) fmt::print("{}\n", e.get<std::string>());
          else if (e.value("type", "") == "symlink") fmt::print("{}\t→ {}\n", e.value("flist", ""), e.value("target", ""));
          else fmt::print("{}\t{}\n", e.value("flist", ""), e.value("size", 0));
        }
      });
      return 0;
    });
  });

  CLI::App* link = hub->add_subcommand("link", "Make <hub>/<user>/<name>[:tag] point at another flist");
  link->add_option("link", co->where, "http(s)://hub/user/name[:tag]")->required();
  link->add_option("target", co->target, "user/name[:tag]")->required();
  link->add_option("--token", co->token, "Write token of the link's user")->envname("TIFFIN_HUB_TOKEN");
  link->callback([&ctx, co] {
    ctx.run([&]() -> Result<int> {
      auto loc = TRY(hub::parse_hub_location(co->where));
      auto target = TRY(hub::parse_flist_ref(co->target));
      hub::HubClient client(loc.base, co->token);
      TRY(client.link(loc.ref, target));
      return 0;
    });
  });

  struct ConvertOpts {
    std::string where, image, token, platform, format;
  };
  auto cv = std::make_shared<ConvertOpts>();
  CLI::App* convert = hub->add_subcommand("convert", "Have a hub convert a registry image into <hub>/<user>/<name>[:tag]");
  convert->add_option("flist", cv->where, "http(s)://hub/user/name[:tag]")->required();
  convert->add_option("image", cv->image, "The image in a registry the hub reaches: host:5000/repo:tag, repo@sha256:…")->required();
  convert->add_option("--token", cv->token, "Write token of the flist's user")->envname("TIFFIN_HUB_TOKEN");
  convert->add_option("--platform", cv->platform, "os/arch[/variant] of a multi-platform image (default: the hub's)");
  convert->add_option("--format", cv->format, "text (the flist's URL) or json (the hub's answer)");
  convert->callback([&ctx, cv] {
    ctx.run([&]() -> Result<int> {
      auto loc = TRY(hub::parse_hub_location(cv->where));
      hub::HubClient client(loc.base, cv->token);
      nlohmann::json j = TRY(client.convert(loc.ref, cv->image, cv->platform));
      print_json_or(j, want_json(cv->format), [&] { fmt::print("{}/{}\n", loc.base, loc.ref.str()); });
      return 0;
    });
  });

  CLI::App* rm = hub->add_subcommand("rm", "Delete an flist or link from a hub (its blocks stay until `tiffin hub gc`)");
  rm->add_option("flist", co->where, "http(s)://hub/user/name[:tag]")->required();
  rm->add_option("--token", co->token, "Write token of the flist's user")->envname("TIFFIN_HUB_TOKEN");
  rm->callback([&ctx, co] {
    ctx.run([&]() -> Result<int> {
      auto loc = TRY(hub::parse_hub_location(co->where));
      hub::HubClient client(loc.base, co->token);
      TRY(client.remove(loc.ref));
      return 0;
    });
  });

  struct SyncCliOpts {
    std::string from, root = "/var/lib/tiffin/hub", format;
    hub::SyncOptions opts;
    unsigned interval = 0;
  };
  auto sy = std::make_shared<SyncCliOpts>();
  CLI::App* sync = hub->add_subcommand("sync", "Make the hub at --root a replica of FROM: copy its flists, links and their blocks");
  sync->add_option("from", sy->from, "http(s)://hub to copy from")->required();
  sync->add_option("--root", sy->root, "The replica's root (a hub may be serving it)")->capture_default_str();
  sync->add_option("--public-url", sy->opts.add_route, "This replica's address: copies get a route to it next to FROM's");
  sync->add_flag("--delete", sy->opts.delete_gone, "Remove flists and links FROM no longer has");
  sync->add_option("--interval", sy->interval, "Seconds between rounds, until SIGTERM/SIGINT (default: one round)");
  sync->add_option("--format", sy->format, "text or json (one line per round)");
  sync->callback([&ctx, sy] {
    ctx.run([&]() -> Result<int> {
      bool json = want_json(sy->format);
      sy->opts.progress = !json;  // a line per flist copied, on stderr
      if (sy->interval == 0) {
        hub::SyncReport r = TRY(hub::sync_hub(sy->from, sy->root, sy->opts));
        print_sync_report(r, json);
        return r.failures.empty() ? 0 : 1;
      }
      TRY(hub::sync_hub_every(sy->from, sy->root, sy->opts, std::chrono::seconds(sy->interval), [&](const Result<hub::SyncReport>& r) {
        if (r) print_sync_report(*r, json);
        else fmt::print(stderr, "sync from {} failed: {}\n", sy->from, r.error().what());
      }));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
