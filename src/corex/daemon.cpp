#include "corex/daemon.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>
#include <thread>

#include "corex/interface_addresses.hpp"
#include "corex/process_table.hpp"
#include "corex/server.hpp"
#include "common/default_path.hpp"

namespace tiffin::corex {

namespace asio = boost::asio;

std::vector<std::string> process_environment(char** environ_in) {
  std::vector<std::string> env;
  bool term = false, home = false, path = false;
  for (char** e = environ_in; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with(std::string(kTokenEnv) + "=")) continue;
    term |= kv.starts_with("TERM=");
    home |= kv.starts_with("HOME=");
    path |= kv.starts_with("PATH=");
    env.emplace_back(kv);
  }
  if (!term) env.emplace_back("TERM=xterm-256color");
  if (!home) env.emplace_back("HOME=/root");
  if (!path) env.emplace_back(kDefaultPathEnv);
  return env;
}

namespace {

// The interface's addresses; a container's eth0 may get its address a moment after PID 1
// starts, so an interface without one is asked again for up to 10 s (one that does not exist
// is an error at once).
Result<std::vector<asio::ip::address>> listen_addresses(const Options& o) {
  if (o.interface.empty()) {
    std::vector<asio::ip::address> out{asio::ip::address_v4::loopback()};
    if (o.ipv6) out.emplace_back(asio::ip::address_v6::loopback());
    return out;
  }
  for (int attempt = 0;; ++attempt) {
    auto found = interface_addresses(o.interface, o.ipv6);
    if (found && !found->empty()) return *found;
    if (!found) return std::unexpected(found.error());  // no such interface: no point waiting
    if (attempt >= 100) {
      if (!found) return std::unexpected(found.error());
      return fail(Errc::unavailable, "interface " + o.interface + " has no address to listen on");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

Result<void> run_corex(const Options& options, std::vector<std::string> process_env) {
  // Outside a container, orphans of its processes come back to coreX as they would to PID 1.
  if (::getpid() != 1) ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::signal(SIGPIPE, SIG_IGN);

  asio::io_context io(1);
  // Set up before any child exists, so no exit goes unnoticed.
  asio::signal_set children(io, SIGCHLD);
  asio::signal_set stop_signals(io, SIGTERM, SIGINT, SIGHUP);
  stop_signals.add(SIGQUIT);
  asio::signal_set forwarded(io, SIGUSR1, SIGUSR2);

  ProcessTable table(io, options.ring_bytes, std::move(process_env));
  Server server(io, options.credentials, table, options.debug);
  auto addresses = TRY_CTX(listen_addresses(options), "coreX");
  auto bound = TRY_CTX(server.listen(addresses, options.port), "coreX");
  for (const auto& ep : bound) {
    std::string host = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
    std::printf("coreX: listening on http://%s:%u/\n", host.c_str(), ep.port());
  }
  std::fflush(stdout);

  if (!options.command.empty()) {
    auto started = table.start(options.command);
    if (!started) std::fprintf(stderr, "coreX: %s\n", started.error().message.c_str());
  }

  bool shutting_down = false;
  asio::steady_timer kill_timer(io);
  std::function<void()> watch_children = [&] {
    children.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      table.reap();
      if (shutting_down && table.running() == 0) {
        io.stop();
        return;
      }
      watch_children();
    });
  };
  watch_children();

  std::function<void()> watch_forwarded = [&] {
    forwarded.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      for (const auto& p : table.list())
        if (!p.exited()) ::kill(p.pid, sig);
      watch_forwarded();
    });
  };
  watch_forwarded();

  stop_signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (options.debug >= 1) std::fprintf(stderr, "coreX: signal %d: stopping %zu process(es)\n", sig, table.running());
    shutting_down = true;
    server.stop_accepting();
    table.signal_all(SIGHUP);
    table.signal_all(SIGTERM);
    table.signal_all(SIGCONT);
    if (table.running() == 0) {
      io.stop();
      return;
    }
    kill_timer.expires_after(std::chrono::seconds(5));
    kill_timer.async_wait([&](const boost::system::error_code& ec2) {
      if (ec2) return;
      table.signal_all(SIGKILL);
      kill_timer.expires_after(std::chrono::seconds(1));
      kill_timer.async_wait([&](const boost::system::error_code&) { io.stop(); });
    });
  });

  io.run();
  table.reap();
  return {};
}

}  // namespace tiffin::corex
