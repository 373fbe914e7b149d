#include "shim/shim_config.hpp"

#include "shim/fields.hpp"

namespace tiffin::shim {

std::string encode_config(const ShimConfig& c) {
  Fields f;
  f.add("id", c.id).add("bundle", c.bundle).add("runtime", c.runtime).add("runtime_root", c.runtime_root);
  f.add("state_dir", c.state_dir).add("run_dir", c.run_dir);
  f.add("log_max_bytes", c.log_max_bytes).add("log_max_files", c.log_max_files);
  f.add("stdout_redis", c.stdout_redis).add("stderr_redis", c.stderr_redis).add("stats_redis", c.stats_redis);
  f.add("stats_interval_ms", c.stats_interval_ms).add("restart", c.restart);
  f.add("tty", c.tty).add("open_stdin", c.open_stdin).add("auto_remove", c.auto_remove);
  if (c.secret_env) f.add("secret_env", true);
  f.add_all("teardown_unmount", c.teardown_unmount).add_all("teardown_remove", c.teardown_remove);
  if (!c.events_path.empty()) f.add("events_path", c.events_path).add_all("event_attribute", c.event_attributes);
  if (c.health.enabled()) {
    f.add_all("health_command", c.health.command).add("health_retries", c.health.retries);
    f.add("health_interval_ms", static_cast<int64_t>(c.health.interval.count()));
    f.add("health_timeout_ms", static_cast<int64_t>(c.health.timeout.count()));
    f.add("health_start_period_ms", static_cast<int64_t>(c.health.start_period.count()));
    f.add("health_start_interval_ms", static_cast<int64_t>(c.health.start_interval.count()));
  }
  return encode_fields(f);
}

Result<ShimConfig> decode_config(std::string_view text) {
  auto fields = decode_fields(text);
  if (!fields) return fail(Errc::invalid_input, "shim config: " + fields.error().message);
  FieldReader r(*fields, "shim config");
  ShimConfig c;
  c.id = r.required("id");
  c.bundle = r.required("bundle");
  c.runtime = r.required("runtime");
  c.runtime_root = r.required("runtime_root");
  c.state_dir = r.required("state_dir");
  c.run_dir = r.required("run_dir");
  c.log_max_bytes = r.unsigned_integer("log_max_bytes", c.log_max_bytes);
  c.log_max_files = static_cast<unsigned>(r.unsigned_integer("log_max_files", c.log_max_files));
  c.stdout_redis = r.text("stdout_redis");
  c.stderr_redis = r.text("stderr_redis");
  c.stats_redis = r.text("stats_redis");
  c.stats_interval_ms = static_cast<unsigned>(r.unsigned_integer("stats_interval_ms", c.stats_interval_ms));
  c.restart = r.text("restart", c.restart);
  c.tty = r.flag("tty");
  c.open_stdin = r.flag("open_stdin");
  c.auto_remove = r.flag("auto_remove");
  c.secret_env = r.flag("secret_env");
  c.teardown_unmount = r.list("teardown_unmount");
  c.teardown_remove = r.list("teardown_remove");
  c.events_path = r.text("events_path");
  c.event_attributes = r.list("event_attribute");
  using std::chrono::milliseconds;
  c.health.command = r.list("health_command");
  c.health.retries = static_cast<int>(r.unsigned_integer("health_retries", static_cast<uint64_t>(c.health.retries)));
  c.health.interval = milliseconds(r.unsigned_integer("health_interval_ms", static_cast<uint64_t>(c.health.interval.count())));
  c.health.timeout = milliseconds(r.unsigned_integer("health_timeout_ms", static_cast<uint64_t>(c.health.timeout.count())));
  c.health.start_period = milliseconds(r.unsigned_integer("health_start_period_ms", static_cast<uint64_t>(c.health.start_period.count())));
  c.health.start_interval =
      milliseconds(r.unsigned_integer("health_start_interval_ms", static_cast<uint64_t>(c.health.start_interval.count())));
  if (auto done = r.finish(); !done) return fail(Errc::invalid_input, done.error().message);
  return c;
}

}  // namespace tiffin::shim
