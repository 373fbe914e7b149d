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
  f.add_all("teardown_unmount", c.teardown_unmount).add_all("teardown_remove", c.teardown_remove);
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
  c.teardown_unmount = r.list("teardown_unmount");
  c.teardown_remove = r.list("teardown_remove");
  if (auto done = r.finish(); !done) return fail(Errc::invalid_input, done.error().message);
  return c;
}

}  // namespace tiffin::shim
