#include "build/image_config_steps.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "build/copy_layer.hpp"
#include "build/shell_lexer.hpp"
#include "engine/container_config.hpp"

namespace tiffin::build {
namespace {

std::string key_of(const std::string& entry) { return entry.substr(0, entry.find('=')); }

// A form docker stores for CMD, ENTRYPOINT and HEALTHCHECK: exec as it is, shell after SHELL.
std::vector<std::string> command_of(const Instruction& ins, const StageScope& scope) {
  if (ins.exec_form) return ins.args;
  std::vector<std::string> out = scope.shell;
  out.push_back(ins.args.empty() ? "" : ins.args.front());
  return out;
}

std::optional<unsigned> port_number(std::string_view s) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return v;
}

// "80", "80/udp", "8000-8002/tcp" → each port as docker's config keys it ("80/tcp").
Result<std::vector<std::string>> expose_ports(const std::string& word) {
  std::string ports = word, proto = "tcp";
  if (size_t slash = word.find('/'); slash != std::string::npos) {
    ports = word.substr(0, slash);
    proto = word.substr(slash + 1);
    std::transform(proto.begin(), proto.end(), proto.begin(), ::tolower);
  }
  if (proto != "tcp" && proto != "udp" && proto != "sctp") return fail(Errc::invalid_input, "invalid proto: " + proto);
  size_t dash = ports.find('-');
  auto first = port_number(ports.substr(0, dash));
  auto last = dash == std::string::npos ? first : port_number(ports.substr(dash + 1));
  if (!first || !last || *last < *first) return fail(Errc::invalid_input, "invalid containerPort: " + ports);
  std::vector<std::string> out;
  for (unsigned p = *first; p <= *last; ++p) out.push_back(std::to_string(p) + "/" + proto);
  return out;
}

template <class T>
void add_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

std::optional<std::string> meta_value(const StageScope& scope, const std::string& name) {
  for (auto it = scope.meta_args.rbegin(); it != scope.meta_args.rend(); ++it)
    if (key_of(*it) == name) return it->substr(it->find('=') + 1);
  return std::nullopt;
}

}  // namespace

std::vector<std::string> scope_env(const StageScope& scope, const ImageConfig& config) {
  std::vector<std::string> out;
  for (const auto& a : scope.args)
    if (a.value) out.push_back(a.name + "=" + *a.value);
  out.insert(out.end(), config.env.begin(), config.env.end());
  return out;
}

std::vector<std::string> run_env(const StageScope& scope, const ImageConfig& config) {
  std::vector<std::string> out = config.env;
  for (const auto& a : scope.args)
    if (a.value && std::none_of(config.env.begin(), config.env.end(), [&](const std::string& e) { return key_of(e) == a.name; }))
      engine::set_env(out, a.name + "=" + *a.value);
  return out;
}

std::string arg_values(const StageScope& scope) {
  std::vector<std::string> v;
  for (const auto& a : scope.args)
    if (a.value) v.push_back(a.name + "=" + *a.value);
  std::sort(v.begin(), v.end());
  return fmt::format("{}", fmt::join(v, "\n"));
}

Result<std::vector<std::string>> run_argv(const Instruction& ins, const StageScope& scope) {
  if (ins.exec_form) return ins.args;
  std::string line = ins.args.empty() ? "" : ins.args.front();
  std::vector<std::string> out = scope.shell;
  // `RUN <<EOF` alone: the heredoc is the script (buildkit runs it with the shell).
  std::string_view trimmed = line;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) trimmed.remove_suffix(1);
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) trimmed.remove_prefix(1);
  if (const Heredoc* h = ins.heredocs.size() == 1 ? ins.heredoc_for(trimmed) : nullptr) {
    out.push_back(h->content);
    return out;
  }
  // A heredoc stays a heredoc: the shell reads it (and expands it unless its delimiter was
  // quoted), as buildkit hands it over.
  for (const auto& h : ins.heredocs) line += "\n" + h.content + h.name;
  out.push_back(line);
  return out;
}

Result<ConfigStepEffect> apply_config_step(const Instruction& ins, ImageConfig& config, StageScope& scope, char escape) {
  VarLookup env = env_lookup(scope_env(scope, config));
  auto word = [&](const std::string& w) { return expand_word(w, env, escape); };
  auto words = [&](const std::vector<std::string>& ws) -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    for (const auto& w : ws)
      for (auto& x : TRY(expand_words(w, env, escape))) out.push_back(std::move(x));
    return out;
  };
  ConfigStepEffect effect;
  switch (ins.kind) {
    case Kind::env: {
      std::vector<std::pair<std::string, std::string>> set;
      for (const auto& kv : ins.pairs) set.emplace_back(TRY(word(kv.key)), TRY(word(kv.value)));
      for (const auto& [k, v] : set) engine::set_env(config.env, k + "=" + v);
      break;
    }
    case Kind::arg:
      for (const auto& kv : ins.pairs) {
        std::string name = kv.key;
        std::optional<std::string> value;
        if (auto given = scope.build_args.find(name); given != scope.build_args.end()) value = given->second;
        else if (kv.has_value) value = TRY(expand_word(kv.value, env_lookup(scope_env(scope, config)), escape));
        else value = meta_value(scope, name);
        std::erase_if(scope.args, [&](const StageScope::Arg& a) { return a.name == name; });
        scope.args.push_back({name, value});
      }
      break;
    case Kind::label: {
      std::vector<std::pair<std::string, std::string>> set;
      for (const auto& kv : ins.pairs) set.emplace_back(TRY(word(kv.key)), TRY(word(kv.value)));
      for (const auto& [k, v] : set) config.labels[k] = v;
      break;
    }
    case Kind::workdir: {
      std::string dir = TRY(word(ins.args.front()));
      if (!dir.starts_with('/')) dir = (config.workdir.empty() ? std::string("/") : config.workdir + "/") + dir;
      dir = clean_absolute(dir);
      if (dir.size() > 1 && dir.ends_with('/')) dir.pop_back();
      config.workdir = dir;
      effect.mkdir = dir;
      break;
    }
    case Kind::user: config.user = TRY(word(ins.args.front())); break;
    case Kind::expose:
      for (const auto& w : TRY(words(ins.args)))
        for (const auto& p : TRY(expose_ports(w))) add_unique(config.ports, p);
      break;
    case Kind::volume:
      for (const auto& v : ins.exec_form ? ins.args : TRY(words(ins.args))) {
        if (v.empty()) return fail(Errc::invalid_input, "VOLUME specified can not be an empty string");
        add_unique(config.volumes, v);
      }
      break;
    case Kind::cmd:
      config.cmd = command_of(ins, scope);
      scope.cmd_from_base = false;
      break;
    case Kind::entrypoint:
      config.entrypoint = command_of(ins, scope);
      // docker: a CMD the base image set does not survive a new ENTRYPOINT.
      if (scope.cmd_from_base) config.cmd.clear();
      break;
    case Kind::shell:
      scope.shell = ins.args;
      config.shell = ins.args;
      break;
    case Kind::stopsignal: config.stop_signal = TRY(word(ins.args.front())); break;
    case Kind::healthcheck: {
      const auto& h = *ins.health;
      tiffin::Healthcheck out;
      out.test = h.test;
      out.interval_ns = h.interval.count();
      out.timeout_ns = h.timeout.count();
      out.start_period_ns = h.start_period.count();
      out.start_interval_ns = h.start_interval.count();
      out.retries = h.retries;
      config.healthcheck = out;
      break;
    }
    case Kind::onbuild: config.onbuild.push_back(onbuild_expression(ins)); break;
    case Kind::maintainer: config.author = TRY(word(ins.args.front())); break;  // deprecated; docker's image Author
    case Kind::from:
    case Kind::run:
    case Kind::copy:
    case Kind::add: return fail(Errc::internal, std::string(kind_keyword(ins.kind)) + " is not a config step");
  }
  return effect;
}

}  // namespace tiffin::build
