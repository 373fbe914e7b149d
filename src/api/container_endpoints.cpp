// /containers/…: create, start, stop, restart, kill, wait, attach, logs, inspect, list, remove,
// pause, unpause, top, resize, prune.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <thread>
#include <variant>

#include "api/attach_broker.hpp"
#include "api/container_create.hpp"
#include "api/docker_view.hpp"
#include "api/engine_api.hpp"
#include "api/filters.hpp"
#include "api/stream_frames.hpp"
#include "common/subprocess.hpp"
#include "common/text.hpp"
#include "engine/container_logs.hpp"
#include "runtime/container.hpp"

namespace tiffin::api {

using json = nlohmann::json;
using shim::ContainerStatus;

namespace {

// A --corex container's start (or restart) through the API made a coreX token that only the
// container holds (the secret memfd): the caller gets it in a header of the 204 (docker's
// clients ignore it; `tiffin start`, `restart` or `system boot` print it). Never in the log,
// which ends in a file.
constexpr const char* kCorexTokenHeader = "X-Tiffin-Corex-Token";

Response started_response(const std::string& id, const std::string& token) {
  Response res = empty_response();
  if (token.empty()) return res;
  res.headers.emplace_back(kCorexTokenHeader, token);
  res.headers.emplace_back("Cache-Control", "no-store");
  spdlog::info("api: container {}: coreX started with a new token (in the answer's {} header)", id.substr(0, 12), kCorexTokenHeader);
  return res;
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < text.size();) {
    size_t start = text.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) break;
    size_t end = text.find_first_of(" \t", start);
    if (end == std::string_view::npos) end = text.size();
    out.emplace_back(text.substr(start, end - start));
    pos = end;
  }
  return out;
}

// `ps ARGS` on the host, its rows of `procs` only (matched on its PID column), as dockerd's top.
Result<json> ps_table(const std::vector<std::string>& args, const std::vector<engine::ProcessRow>& procs) {
  std::vector<std::string> argv = {"ps"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto [code, text] = TRY(run_captured(argv));
  if (code != 0) return fail(Errc::invalid_input, "ps exited " + std::to_string(code));
  std::vector<std::string> lines;
  for (size_t pos = 0, nl; pos < text.size(); pos = nl + 1) {
    nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
  }
  if (lines.empty()) return fail(Errc::internal, "ps printed nothing");
  std::vector<std::string> titles = split_words(lines[0]);
  auto pid_col = std::find(titles.begin(), titles.end(), "PID");
  if (pid_col == titles.end()) return fail(Errc::invalid_input, "Couldn't find PID field in ps output");
  std::set<std::string> pids;
  for (const auto& p : procs) pids.insert(std::to_string(p.pid));
  json rows = json::array();
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = split_words(lines[i]);
    if (fields.size() < titles.size()) continue;
    if (!pids.contains(fields[static_cast<size_t>(pid_col - titles.begin())])) continue;
    // The last column (the command) keeps its spaces.
    size_t last = titles.size() - 1, at = 0;
    for (size_t f = 0; f < last; ++f) at = lines[i].find(fields[f], at) + fields[f].size();
    std::string command(lines[i].substr(lines[i].find_first_not_of(" \t", at)));
    fields.resize(last);
    fields.push_back(command);
    rows.push_back(fields);
  }
  return json{{"Titles", titles}, {"Processes", rows}};
}

// docker's t: seconds; -1 (any negative) waits as long as it takes.
Result<std::chrono::milliseconds> stop_timeout(const Request& r) {
  auto t = parse_int<int64_t>(r.arg("t", "10"));
  if (!t) return fail(Errc::invalid_input, "invalid timeout '" + r.arg("t") + "'");
  if (*t < 0) return std::chrono::milliseconds(std::chrono::hours(24 * 365));
  return std::chrono::milliseconds(*t * 1000);
}

// The shim's output to the client (framed without a terminal), the client's input to the shim,
// until the container's program exits (its code) or the client goes (nullopt).
std::optional<int> pump(engine::ShimConnection& session, Connection& conn, bool tty, bool in, bool out, bool err) {
  bool stdin_open = in;
  for (;;) {
    if (!session.has_buffered()) {
      pollfd p[2] = {{session.fd(), POLLIN, 0}, {conn.fd(), static_cast<short>(stdin_open ? POLLIN : 0), 0}};
      if (!(stdin_open && conn.has_buffered()) && ::poll(p, 2, -1) < 0 && errno != EINTR) return std::nullopt;
      if (stdin_open && (conn.has_buffered() || (p[1].revents & (POLLIN | POLLHUP)))) {
        auto got = conn.read_some(0);
        if (!got) return std::nullopt;
        if (*got && (*got)->empty()) {
          stdin_open = false;
          (void)session.send(shim::StdinClose{});
        } else if (*got) {
          (void)session.send(shim::StdinData{std::move(**got)});
        }
      } else if (!stdin_open && (p[1].revents & (POLLHUP | POLLERR))) {
        return std::nullopt;  // the client left
      }
      if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !session.has_buffered()) continue;
    }
    auto m = session.receive();
    if (!m) return std::nullopt;
    if (auto* o = std::get_if<shim::Output>(&*m)) {
      bool is_err = o->stream == shim::Output::Stream::err;
      if (is_err ? !err : !out) continue;
      auto sent = tty ? conn.write(o->data) : conn.write(frame(is_err ? StreamKind::stderr_ : StreamKind::stdout_, o->data));
      if (!sent) return std::nullopt;
    } else if (auto* x = std::get_if<shim::Exited>(&*m)) {
      return x->exit_code;
    }
  }
}

// The rest of a started run's session, read to its Exited (output dropped); the code goes to
// the waits. A session that breaks first (a killed shim) leaves the waits to the engine.
void see_to_the_end(AttachBroker& broker, const std::string& id, engine::ShimConnection& session) {
  for (;;) {
    auto m = session.receive();
    if (!m) {
      broker.observing(id, false);
      return;
    }
    if (auto* x = std::get_if<shim::Exited>(&*m)) {
      broker.exited(id, x->exit_code);
      return;
    }
  }
}

Result<int> parse_signal_arg(const std::string& text, int fallback) {
  if (text.empty()) return fallback;
  return runtime::parse_signal(text);
}

}  // namespace

void add_container_endpoints(EngineApi& api) {
  api.route("POST", "/containers/create", [&api](Request& r) -> Result<Response> {
    json body = TRY(body_object(r));
    engine::ContainerConfig c = TRY(config_from_create(body, r.arg("name")));
    c.pull = "never";  // docker answers 404 for a missing image; its client pulls and asks again
    auto e = TRY(api.engine());
    auto image = e.resolve_image(c.image, "never");
    if (!image) return fail(Errc::not_found, "No such image: " + c.image);
    std::string id = TRY(e.create(c));
    return json_response(201, json{{"Id", id}, {"Warnings", json::array()}});
  });

  api.route("GET", "/containers/json", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    auto filter = TRY(engine::parse_container_filter(r.flag("all"), TRY(filter_pairs(r.arg("filters")))));
    auto list = TRY(e.list(filter));
    // Newest first, as docker lists them.
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.created > b.created; });
    auto limit = parse_int<int64_t>(r.arg("limit", "-1")).value_or(-1);
    if (limit > 0 && static_cast<size_t>(limit) < list.size()) list.resize(static_cast<size_t>(limit));
    json arr = json::array();
    std::map<std::string, ImageConfig> images;  // each image's config read once
    for (const auto& c : list) {
      auto it = images.find(c.image_id);
      if (it == images.end()) {
        engine::ImageInfo image;
        image.id = c.image_id;
        it = images.emplace(c.image_id, e.image_config(image).value_or(ImageConfig{})).first;
      }
      arr.push_back(list_json(e, c, it->second));
    }
    return json_response(200, arr);
  });

  api.route("GET", "/containers/{id}/json", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    auto info = TRY(e.inspect(TRY(container_id(e, r.params["id"]))));
    return json_response(200, inspect_json(e, info));
  });

  api.route("POST", "/containers/{id}/start", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    auto info = TRY(e.inspect(id));
    if (is_active(info.state.status)) return empty_response(304);
    // docker removes an --rm container whose start failed.
    auto failed = [&](const Error& err) -> Result<Response> {
      if (info.config.auto_remove) (void)e.remove(id, true, true);
      return std::unexpected(err);
    };
    // The session this start keeps hears the exit: an attach waiting for the start pumps it,
    // else a thread of its own reads it to the end.
    auto waiter = api.attaches().take(id);
    engine::StartOptions so;
    so.attach = waiter != nullptr;
    so.attach_stdin = waiter && waiter->with_stdin;
    so.watch_exit = true;
    api.attaches().observing(id, true);
    auto started = e.start(id, so);
    if (!started) {
      api.attaches().observing(id, false);
      if (waiter) waiter->session.set_value(std::unexpected(started.error()));
      return failed(started.error());
    }
    if (waiter) {
      waiter->session.set_value(std::move(*started->session));
    } else {
      std::thread([broker = api.shared_attaches(), id, session = std::move(*started->session)]() mutable {
        see_to_the_end(*broker, id, session);
      }).detach();
    }
    return started_response(id, started->corex_token);
  });

  api.route("POST", "/containers/{id}/stop", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    if (!is_active(TRY(e.inspect(id)).state.status)) return empty_response(304);
    auto timeout = TRY(stop_timeout(r));
    int sig = TRY(parse_signal_arg(r.arg("signal"), 0));
    TRY(e.stop(id, timeout, sig));
    return empty_response();
  });

  api.route("POST", "/containers/{id}/restart", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    auto timeout = TRY(stop_timeout(r));
    int sig = TRY(parse_signal_arg(r.arg("signal"), 0));
    if (is_active(TRY(e.inspect(id)).state.status)) TRY(e.stop(id, timeout, sig));
    auto started = TRY(e.start(id));
    e.record_container_event(id, "restart");
    return started_response(id, started.corex_token);
  });

  api.route("POST", "/containers/{id}/rename", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    if (r.arg("name").empty()) return fail(Errc::invalid_input, "name is required");
    TRY(e.rename(id, r.arg("name")));
    return empty_response();
  });

  api.route("POST", "/containers/{id}/kill", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    int sig = TRY(parse_signal_arg(r.arg("signal"), SIGKILL));
    auto killed = e.kill(id, sig);
    if (!killed && killed.error().kind == Errc::conflict) return fail(Errc::conflict, "Container " + id + " is not running");
    TRY(std::move(killed));
    return empty_response();
  });

  api.route("POST", "/containers/{id}/pause", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    TRY(e.pause(TRY(container_id(e, r.params["id"])), true));
    return empty_response();
  });
  api.route("POST", "/containers/{id}/unpause", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    TRY(e.pause(TRY(container_id(e, r.params["id"])), false));
    return empty_response();
  });

  api.route("POST", "/containers/{id}/resize", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    auto h = parse_uint<uint16_t>(r.arg("h")), w = parse_uint<uint16_t>(r.arg("w"));
    if (!h || !w) return fail(Errc::invalid_input, "resize needs h and w (numbers)");
    TRY(e.resize(id, *h, *w));
    return empty_response(200);
  });

  api.route("DELETE", "/containers/{id}", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    auto removed = e.remove(id, r.flag("force"), r.flag("v"));
    if (!removed && removed.error().kind == Errc::conflict)
      return fail(Errc::conflict,
          "cannot remove container \"" + r.params["id"] + "\": container is running: stop the container before removing or force remove");
    TRY(std::move(removed));
    return empty_response();
  });

  api.route("POST", "/containers/prune", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    auto filter = TRY(engine::parse_container_filter(true, TRY(filter_pairs(r.arg("filters")))));
    json deleted = json::array();
    for (const auto& c : TRY(e.list(filter))) {
      if (is_active(c.state.status) || c.shim_alive) continue;
      if (e.remove(c.id, false)) deleted.push_back(c.id);
    }
    return json_response(200, json{{"ContainersDeleted", deleted}, {"SpaceReclaimed", 0}});
  });

  // As dockerd: the host's `ps` with the client's arguments (default -ef), the rows of the
  // container's processes; without ps, the engine's own PID PPID CMD.
  api.route("GET", "/containers/{id}/top", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    auto procs = TRY(e.top(TRY(container_id(e, r.params["id"]))));
    if (auto table = ps_table(split_words(r.arg("ps_args", "-ef")), procs); table) return json_response(200, *table);
    json rows = json::array();
    for (const auto& p : procs) rows.push_back({std::to_string(p.pid), std::to_string(p.ppid), p.command});
    return json_response(200, json{{"Titles", {"PID", "PPID", "CMD"}}, {"Processes", rows}});
  });

  api.route("POST", "/containers/{id}/wait", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    std::string condition = r.arg("condition");
    if (condition.empty()) condition = "not-running";  // docker 20.10's CLI sends it empty
    if (condition != "not-running" && condition != "next-exit" && condition != "removed")
      return fail(Errc::invalid_input, "invalid condition: \"" + condition + "\"");
    Response res;
    // The head goes at once (clients start the container after it), the status when it exits.
    res.stream = [&api, id, condition](Connection& conn) {
      auto e = api.engine();
      if (!e) return;
      AttachBroker& broker = api.attaches();
      // Interest in the exit first, then a look: an exit in between is not missed.
      auto watch = broker.watch_exit(id);
      auto exited = watch->code.get_future();
      auto info = e->inspect(id);
      if (!info) return broker.forget_exit(id, watch);
      bool active = is_active(info->state.status) || info->shim_alive;
      std::optional<int> code;
      if (condition == "not-running" && !active && !broker.observed(id)) code = info->state.exit_code;
      std::string started_before = info->state.started_at;
      while (!code) {
        if (exited.wait_for(std::chrono::milliseconds(20)) == std::future_status::ready) {
          code = exited.get();
          break;
        }
        if (client_left(conn)) return broker.forget_exit(id, watch);
        if (broker.observed(id)) continue;  // started through this server: its session will tell
        info = e->inspect(id);
        if (!info) return broker.forget_exit(id, watch);
        if (is_active(info->state.status) || info->shim_alive) {
          // Started elsewhere (the CLI): its shim answers.
          auto waited = e->wait(id);
          code = waited ? *waited : 137;
        } else if (info->state.started_at != started_before) {
          code = info->state.exit_code;  // started elsewhere and exited between two looks
        }
      }
      broker.forget_exit(id, watch);
      if (condition == "removed" && info->config.auto_remove) (void)e->remove(id, true, true);
      (void)write_json_line(conn, json{{"StatusCode", *code}, {"Error", nullptr}});
    };
    return res;
  });

  api.route("POST", "/containers/{id}/attach", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    auto info = TRY(e.inspect(id));
    bool in = r.flag("stdin"), out = r.flag("stdout"), err = r.flag("stderr"), tty = info.config.tty;
    if (!r.flag("stream")) return fail(Errc::unsupported, "attach without stream=1 (logs only) is not supported");
    std::optional<engine::ShimConnection> session;
    std::shared_ptr<AttachBroker::Waiter> waiter;
    if (is_active(info.state.status)) session = TRY(e.attach(id, in));
    else waiter = api.attaches().wait_for_start(id, in);
    Response res;
    res.hijack = true;
    res.content_type = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
    auto shared = std::make_shared<std::optional<engine::ShimConnection>>(std::move(session));
    res.stream = [&api, id, waiter, shared, tty, in, out, err](Connection& conn) {
      if (waiter) {
        auto future = waiter->session.get_future();
        while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
          if (client_gone(conn)) {
            if (api.attaches().forget(id, waiter)) return;
            // A start took it meanwhile: its session still tells the waits how the run ends.
            auto got = future.get();
            if (got) see_to_the_end(api.attaches(), id, *got);
            return;
          }
        }
        auto got = future.get();
        if (!got) return;
        *shared = std::move(*got);
        // This session is the start's: it tells the waits how the run ended.
        if (auto code = pump(**shared, conn, tty, in, out, err)) api.attaches().exited(id, *code);
        else see_to_the_end(api.attaches(), id, **shared);
        return;
      }
      (void)pump(**shared, conn, tty, in, out, err);
    };
    return res;
  });

  api.route("GET", "/containers/{id}/logs", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    bool out = r.flag("stdout"), err = r.flag("stderr");
    if (!out && !err) return fail(Errc::invalid_input, "you must choose at least one stream");
    engine::LogOptions lo;
    lo.follow = r.flag("follow");
    std::string tail = r.arg("tail", "all");
    if (tail != "all") lo.tail = parse_uint<size_t>(tail).value_or(lo.tail);
    for (auto [key, bound] : {std::pair{"since", &lo.since}, {"until", &lo.until}}) {
      auto v = parse_decimal(r.arg(key, "0"));
      if (!v) return fail(Errc::invalid_input, std::string("invalid ") + key + " '" + r.arg(key) + "': a unix time in seconds");
      *bound = *v;
    }
    bool timestamps = r.flag("timestamps");
    bool tty = TRY(e.inspect(id)).config.tty;
    Response res;
    res.content_type = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
    res.stream = [&api, id, lo, out, err, timestamps, tty](Connection& conn) {
      auto e = api.engine();
      if (!e) return;
      (void)engine::read_logs(
          *e, id, lo,
          [&](const shim::LogRecord& rec) {
            bool is_err = rec.stream == "stderr";
            if (is_err ? !err : !out) return true;
            std::string line = (timestamps ? rec.time + " " : "") + rec.content + (rec.partial ? "" : "\n");
            auto sent = tty ? conn.write(line) : conn.write(frame(is_err ? StreamKind::stderr_ : StreamKind::stdout_, line));
            return sent.has_value();
          },
          [&] { return !client_left(conn); });
    };
    return res;
  });
}

}  // namespace tiffin::api
