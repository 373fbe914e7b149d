// tiffin events [--since T] [--until T] [-f KEY=VALUE]… [--format json]: the node's event log,
// what the CLI, `tiffin serve` and the shims recorded (docker's events).
#include <fmt/core.h>

#include <ctime>

#include "api/docker_events.hpp"
#include "api/docker_view.hpp"
#include "cli/cli.hpp"
#include "cli/container_flags.hpp"

namespace tiffin::cli {

namespace {

// docker's forms: a duration back from now ("10m"), unix seconds, or RFC 3339 ("2026-12-06T05:00:00Z").
Result<int64_t> event_time(const std::string& text, int64_t now) {
  if (auto d = parse_duration(text); d && !text.empty() && text.find_first_not_of("0123456789.") != std::string::npos) return now - *d;
  if (text.size() >= 19 && text[4] == '-' && text[10] == 'T') {
    tm t{};
    if (!::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &t)) return fail(Errc::invalid_input, "invalid time '" + text + "'");
    return static_cast<int64_t>(::timegm(&t)) * 1'000'000'000;
  }
  return api::parse_event_time(text);
}

std::string event_line(const Event& e) {
  std::string attrs;
  for (const auto& [k, v] : e.attributes) attrs += (attrs.empty() ? "" : ", ") + k + "=" + v;
  return fmt::format("{} {} {} {}{}\n", api::rfc3339_nano(e.time_nano), e.type, e.action, e.id, attrs.empty() ? "" : " (" + attrs + ")");
}

}  // namespace

void add_events(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string since, until, format;
    std::vector<std::string> filters;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* events = app.add_subcommand("events", "What happened on this node: containers, images, volumes, networks");
  events->add_option("--since", o->since, "Show events since: a duration back (10m), unix seconds or RFC 3339");
  events->add_option("--until", o->until, "Stop at: a duration back, unix seconds or RFC 3339 (default: follow)");
  events->add_option("-f,--filter", o->filters, "container=, image=, event=, type=, label=, volume=, network=");
  events->add_option("--format", o->format, "json: one document per line, as the Engine API's");
  events->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      auto filter = TRY(api::EventFilter::parse(o->filters));
      int64_t now = unix_nanos();
      std::optional<int64_t> since, until;
      if (!o->since.empty()) since = TRY(event_time(o->since, now));
      if (!o->until.empty()) until = TRY(event_time(o->until, now));
      auto e = TRY(ctx.open_engine());
      TRY(api::stream_events(
          EventLog(e.events_path()), filter, since, until,
          [&](const Event& ev) {
            if (want_json(o->format))
              fmt::print("{}\n", api::event_json(ev).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
            else fmt::print("{}", event_line(ev));
            return std::fflush(stdout) == 0;
          },
          [] { return true; }));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
