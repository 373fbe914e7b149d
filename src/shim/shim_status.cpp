#include "shim/shim_status.hpp"

#include "common/text.hpp"
#include "shim/fields.hpp"

namespace tiffin::shim {

namespace {
constexpr std::pair<ContainerStatus, const char*> kNames[] = {
    {ContainerStatus::created, "created"},
    {ContainerStatus::running, "running"},
    {ContainerStatus::paused, "paused"},
    {ContainerStatus::restarting, "restarting"},
    {ContainerStatus::exited, "exited"},
};
}  // namespace

const char* status_name(ContainerStatus s) {
  for (const auto& [status, name] : kNames)
    if (status == s) return name;
  return "unknown";
}

std::optional<ContainerStatus> parse_status(std::string_view name) {
  for (const auto& [status, n] : kNames)
    if (name == n) return status;
  return std::nullopt;
}

std::string encode_status(const ShimStatus& s) {
  Fields f;
  f.add("status", status_name(s.status)).add("pid", s.pid).add("exit_code", s.exit_code);
  f.add("restart_count", s.restart_count).add("started_at", s.started_at).add("finished_at", s.finished_at);
  if (s.error) f.add("error", encode_error(*s.error));
  if (!s.health.status.empty()) {
    f.add("health", s.health.status).add("failing_streak", s.health.failing_streak);
    for (const auto& p : s.health.log)
      f.add("probe_start", p.start).add("probe_end", p.end).add("probe_exit", p.exit_code).add("probe_output", p.output);
  }
  return encode_fields(f);
}

Result<ShimStatus> decode_status(std::string_view text) {
  Fields f = TRY(decode_fields(text));
  FieldReader r(f, "shim status");
  ShimStatus s;
  std::string name = r.required("status");
  auto status = parse_status(name);
  s.pid = static_cast<int>(r.integer("pid"));
  s.exit_code = static_cast<int>(r.integer("exit_code"));
  s.restart_count = static_cast<int>(r.integer("restart_count"));
  s.started_at = r.text("started_at");
  s.finished_at = r.text("finished_at");
  std::string error = r.text("error");
  s.health.status = r.text("health");
  s.health.failing_streak = static_cast<int>(r.integer("failing_streak"));
  auto starts = r.list("probe_start"), ends = r.list("probe_end"), exits = r.list("probe_exit"), outputs = r.list("probe_output");
  TRY(r.finish(false));
  if (ends.size() != starts.size() || exits.size() != starts.size() || outputs.size() != starts.size())
    return fail(Errc::corrupt, "shim status: the health probes' fields do not pair up");
  for (size_t i = 0; i < starts.size(); ++i) {
    auto code = parse_int<int>(exits[i]);
    if (!code) return fail(Errc::corrupt, "shim status: probe_exit " + exits[i] + " is not a number");
    s.health.log.push_back({starts[i], ends[i], *code, outputs[i]});
  }
  if (!status) return fail(Errc::corrupt, "shim status: unknown status " + name);
  s.status = *status;
  if (!error.empty()) s.error = TRY(decode_error(error));
  return s;
}

}  // namespace tiffin::shim
