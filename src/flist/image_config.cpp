#include "flist/image_config.hpp"

#include <nlohmann/json.hpp>

#include "common/json_fields.hpp"

namespace tiffin {

Result<Healthcheck> healthcheck_from_docker(const nlohmann::json& h, const std::string& where) {
  namespace jf = json_fields;
  if (!h.is_object()) return fail(Errc::invalid_input, where + " must be an object");
  Healthcheck hc;
  hc.test = TRY(jf::strings(h, "Test", where));
  hc.interval_ns = TRY(jf::integer(h, "Interval", where));
  hc.timeout_ns = TRY(jf::integer(h, "Timeout", where));
  hc.start_period_ns = TRY(jf::integer(h, "StartPeriod", where));
  hc.start_interval_ns = TRY(jf::integer(h, "StartInterval", where));
  int64_t retries = TRY(jf::integer(h, "Retries", where));
  if (hc.interval_ns < 0 || hc.timeout_ns < 0 || hc.start_period_ns < 0 || hc.start_interval_ns < 0 || retries < 0 || retries > INT32_MAX)
    return fail(Errc::invalid_input, where + ": durations and retries must be non-negative");
  hc.retries = static_cast<int>(retries);
  return hc;
}

std::string image_config_to_json(const ImageConfig& c) {
  // nlohmann::json sorts object keys, which makes the text canonical for signatures.
  nlohmann::json j = {
      {"entrypoint", c.entrypoint}, {"cmd", c.cmd}, {"env", c.env}, {"workdir", c.workdir}, {"user", c.user}, {"ports", c.ports}};
  if (!c.volumes.empty()) j["volumes"] = c.volumes;
  if (!c.labels.empty()) j["labels"] = c.labels;
  if (!c.stop_signal.empty()) j["stop_signal"] = c.stop_signal;
  if (!c.onbuild.empty()) j["onbuild"] = c.onbuild;
  if (!c.shell.empty()) j["shell"] = c.shell;
  if (!c.author.empty()) j["author"] = c.author;
  if (!c.healthcheck.test.empty())
    j["healthcheck"] = {{"test", c.healthcheck.test}, {"interval", c.healthcheck.interval_ns}, {"timeout", c.healthcheck.timeout_ns},
        {"start_period", c.healthcheck.start_period_ns}, {"retries", c.healthcheck.retries}};
  if (c.healthcheck.start_interval_ns) j["healthcheck"]["start_interval"] = c.healthcheck.start_interval_ns;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<ImageConfig> image_config_from_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid_input, "image config is not a JSON object");
  ImageConfig c;
  auto strings = [&](const char* key, std::vector<std::string>& out) -> Result<void> {
    if (!j.contains(key) || j[key].is_null()) return {};
    if (!j[key].is_array()) return fail(Errc::invalid_input, std::string("image config: '") + key + "' must be a list of strings");
    for (const auto& v : j[key]) {
      if (!v.is_string()) return fail(Errc::invalid_input, std::string("image config: '") + key + "' must be a list of strings");
      out.push_back(v.get<std::string>());
    }
    return {};
  };
  auto string = [&](const char* key, std::string& out) -> Result<void> {
    if (!j.contains(key) || j[key].is_null()) return {};
    if (!j[key].is_string()) return fail(Errc::invalid_input, std::string("image config: '") + key + "' must be a string");
    out = j[key].get<std::string>();
    return {};
  };
  TRY(strings("entrypoint", c.entrypoint));
  TRY(strings("cmd", c.cmd));
  TRY(strings("env", c.env));
  TRY(strings("ports", c.ports));
  TRY(string("workdir", c.workdir));
  TRY(string("user", c.user));
  TRY(strings("volumes", c.volumes));
  TRY(string("stop_signal", c.stop_signal));
  TRY(strings("onbuild", c.onbuild));
  TRY(strings("shell", c.shell));
  TRY(string("author", c.author));
  if (j.contains("labels") && !j["labels"].is_null()) {
    if (!j["labels"].is_object()) return fail(Errc::invalid_input, "image config: 'labels' must be an object of strings");
    for (const auto& [k, v] : j["labels"].items()) {
      if (!v.is_string()) return fail(Errc::invalid_input, "image config: label '" + k + "' must be a string");
      c.labels[k] = v.get<std::string>();
    }
  }
  if (j.contains("healthcheck") && !j["healthcheck"].is_null()) {
    const auto& h = j["healthcheck"];
    auto number = [&](const char* key, auto& out) -> Result<void> {
      if (!h.contains(key)) return {};
      if (!h[key].is_number_integer())
        return fail(Errc::invalid_input, std::string("image config: healthcheck '") + key + "' must be an integer");
      out = h[key].get<std::decay_t<decltype(out)>>();
      return {};
    };
    if (!h.is_object() || !h.contains("test") || !h["test"].is_array())
      return fail(Errc::invalid_input, "image config: 'healthcheck' must be an object with a 'test' list");
    for (const auto& v : h["test"]) {
      if (!v.is_string()) return fail(Errc::invalid_input, "image config: healthcheck 'test' must be a list of strings");
      c.healthcheck.test.push_back(v.get<std::string>());
    }
    TRY(number("interval", c.healthcheck.interval_ns));
    TRY(number("timeout", c.healthcheck.timeout_ns));
    TRY(number("start_period", c.healthcheck.start_period_ns));
    TRY(number("start_interval", c.healthcheck.start_interval_ns));
    TRY(number("retries", c.healthcheck.retries));
  }
  for (const auto& e : c.env)
    if (e.find('=') == std::string::npos || e.front() == '=')
      return fail(Errc::invalid_input, "image config: env entry '" + e + "' is not KEY=value");
  return c;
}

}  // namespace tiffin
