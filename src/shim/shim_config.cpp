#include "shim/shim_config.hpp"

#include <charconv>
#include <functional>
#include <map>

#include "common/text.hpp"

namespace tiffin::shim {
namespace {

// One table of fields serves both directions.
struct Field {
  std::function<std::string(const ShimConfig&)> get;
  std::function<bool(ShimConfig&, const std::string&)> set;
};

template <class T>
bool parse_number(const std::string& s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

#define TEXT(name) {#name, {[](const ShimConfig& c) { return c.name; }, [](ShimConfig& c, const std::string& v) { c.name = v; return true; }}}
#define NUMBER(name) {#name, {[](const ShimConfig& c) { return std::to_string(c.name); }, [](ShimConfig& c, const std::string& v) { return parse_number(v, c.name); }}}
#define FLAG(name) {#name, {[](const ShimConfig& c) { return std::string(c.name ? "1" : "0"); }, [](ShimConfig& c, const std::string& v) { c.name = v == "1"; return v == "0" || v == "1"; }}}

const std::map<std::string, Field>& fields() {
  static const std::map<std::string, Field> f = {
      TEXT(id), TEXT(bundle), TEXT(runtime_root), TEXT(state_dir), TEXT(run_dir), NUMBER(log_max_bytes),
      NUMBER(log_max_files), TEXT(stdout_redis), TEXT(stderr_redis), TEXT(stats_redis), NUMBER(stats_interval_ms),
      TEXT(restart), FLAG(tty), FLAG(open_stdin), FLAG(attach_first), FLAG(auto_remove), FLAG(loopback),
      TEXT(tiffin), TEXT(root), TEXT(run_root),
  };
  return f;
}

}  // namespace

std::string format_shim_config(const ShimConfig& c) {
  std::string out;
  for (const auto& [name, field] : fields()) out += name + "=" + field.get(c) + "\n";
  return out;
}

Result<ShimConfig> parse_shim_config(const std::string& text) {
  ShimConfig c;
  for (const auto& line : split(text, '\n')) {
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) return fail(Errc::invalid_input, "shim config: not key=value: " + line);
    auto it = fields().find(line.substr(0, eq));
    if (it == fields().end()) return fail(Errc::invalid_input, "shim config: unknown key " + line.substr(0, eq));
    if (!it->second.set(c, line.substr(eq + 1))) return fail(Errc::invalid_input, "shim config: bad value in " + line);
  }
  if (c.id.empty() || c.bundle.empty() || c.runtime_root.empty() || c.state_dir.empty() || c.run_dir.empty())
    return fail(Errc::invalid_input, "shim config: id, bundle, runtime_root, state_dir and run_dir are required");
  return c;
}

}  // namespace tiffin::shim
