#include <fcntl.h>
#include <seccomp.h>
#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "oci/oci_cli.hpp"

namespace tiffin::oci {

void log_line(const Globals& g, const char* level, const std::string& msg) {
  if (g.log_file.empty()) return;
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  ::gmtime_r(&ts.tv_sec, &t);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &t);
  std::string line = g.log_format == "json" ? nlohmann::json{{"level", level}, {"msg", msg}, {"time", when}}.dump(
                                                  -1, ' ', false, nlohmann::json::error_handler_t::replace)
                                            : std::string(when) + " " + level + " " + msg;
  line += '\n';
  int fd = ::open(g.log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  (void)!::write(fd, line.data(), line.size());
  ::close(fd);
}

namespace {

void write_error_fd(const Globals& g, const Error& e) {
  if (g.error_fd < 0) return;
  std::string line = encode_error(e) + "\n";
  for (size_t done = 0; done < line.size();) {
    ssize_t n = ::write(g.error_fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nobody reads it: stderr still has the message
    done += static_cast<size_t>(n);
  }
}

}  // namespace

void report_error(Globals& g, const Error& e) {
  log_line(g, "error", e.what());
  if (g.error_fd < 0 || !g.errors_to_fd_only) std::fprintf(stderr, "tiffin-oci: %s\n", e.what().c_str());
  write_error_fd(g, e);
  g.exit_code = 1;
}

void run_verb(Globals& g, const std::function<Result<int>()>& body) {
  auto r = body();
  if (!r) return report_error(g, r.error());
  g.exit_code = *r;
}

int oci_main(int argc, char** argv) {
  Globals g;
  CLI::App app{"tiffin-oci: an OCI runtime with runc's command line"};
  app.require_subcommand(0, 1);
  app.allow_windows_style_options(false);
  const scmp_version* v = seccomp_version();
  app.set_version_flag("-v,--version", std::string("tiffin-oci version ") + TIFFIN_VERSION + "\nspec: 1.1.0\nlibseccomp: " +
                                           std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro));
  app.add_option("--root", g.rt.root, "where container state lives")->capture_default_str();
  app.add_option("--log", g.log_file, "log file (default: stderr only)");
  app.add_option("--log-format", g.log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", g.debug, "log debug messages");
  app.add_flag("--systemd-cgroup", g.rt.systemd_cgroup, "cgroupsPath is slice:prefix:name");
  app.add_option("--error-fd", g.error_fd,
         "tiffin's extension: on failure also write the error as \"<kind>:<errno>:<message>\" and a newline "
         "to this open fd (the container never gets it; keep it out of --preserve-fds)")
      ->check(CLI::Range(0, 1 << 20));
  app.add_flag("--errors-to-fd-only", g.errors_to_fd_only,
      "tiffin's extension: with --error-fd, errors go there alone, not to stderr (an exec's stderr is the program's)");
  auto& ignored = g.keep<std::string>();
  app.add_option("--rootless", ignored, "accepted for runc compatibility");
  app.add_option("--criu", ignored, "accepted for runc compatibility");
  add_create(app, g);
  add_start(app, g);
  add_run(app, g);
  add_state(app, g);
  add_list(app, g);
  add_kill(app, g);
  add_delete(app, g);
  add_exec(app, g);
  add_ps(app, g);
  add_pause_resume(app, g);
  add_update(app, g);
  add_features(app, g);
  add_spec(app, g);
  // Hooks and other programs the runtime starts must not hold the error fd open.
  app.parse_complete_callback([&g] {
    if (g.error_fd > 2) (void)::fcntl(g.error_fd, F_SETFD, FD_CLOEXEC);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    if (rc != 0) {
      log_line(g, "error", e.what());
      write_error_fd(g, Error{Errc::invalid_input, 0, e.what()});
    }
    return rc;
  }
  if (app.get_subcommands().empty()) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  return g.exit_code;
}

}  // namespace tiffin::oci
