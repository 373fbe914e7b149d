#include "flake/flake_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

#include "common/fd.hpp"
#include "common/text.hpp"

namespace tiffin::flake {
namespace {

// Deep merge: `over`'s keys replace or (both maps) merge into `base`'s.
YAML::Node merged(const YAML::Node& base, const YAML::Node& over) {
  if (!base.IsMap() || !over.IsMap()) return YAML::Clone(over);
  YAML::Node out = YAML::Clone(base);
  for (const auto& kv : over) {
    std::string key = kv.first.as<std::string>();
    out[key] = out[key] ? merged(out[key], kv.second) : YAML::Clone(kv.second);
  }
  return out;
}

std::string text_of(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  if (!v || v.IsNull()) return {};
  if (!v.IsScalar()) throw YAML::Exception(v.Mark(), std::string(key) + " must be a string");
  return v.as<std::string>();
}

std::vector<std::string> list_of(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  if (!v || v.IsNull()) return {};
  if (v.IsScalar()) return {v.as<std::string>()};
  if (!v.IsSequence()) throw YAML::Exception(v.Mark(), std::string(key) + " must be a list");
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.IsScalar()) throw YAML::Exception(item.Mark(), std::string(key) + " must be a list of strings");
    out.push_back(item.as<std::string>());
  }
  return out;
}

bool flag_of(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  if (!v || v.IsNull()) return false;
  // flake-pilot's documentation writes `true|false` as a placeholder; anything but a boolean is an error.
  return v.as<bool>();
}

unsigned number_of(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  if (!v || v.IsNull()) return 0;
  return v.as<unsigned>();
}

FlakeConfig from_node(const YAML::Node& doc) {
  if (!doc.IsMap()) throw YAML::Exception(doc.Mark(), "a flake is a map with a container or vm section");
  FlakeConfig c;
  // (a Node is a reference: assigning one writes through it, so choose before binding)
  c.vm = (!doc["container"] || doc["container"].IsNull()) && doc["vm"];
  const YAML::Node app = c.vm ? doc["vm"] : doc["container"];
  if (!app || !app.IsMap()) throw YAML::Exception(doc.Mark(), "no container or vm section");
  c.image = text_of(app, "name");
  c.target_app_path = text_of(app, "target_app_path");
  c.host_app_path = text_of(app, "host_app_path");
  c.base_container = text_of(app, "base_container");
  c.layers = list_of(app, "layers");
  if (const YAML::Node rt = app["runtime"]; rt && rt.IsMap()) {
    c.runas = text_of(rt, "runas");
    c.resume = flag_of(rt, "resume");
    c.attach = flag_of(rt, "attach");
    c.run_options = list_of(rt, "podman");
    // A microVM's sizes; a container flake ignores them, as it ignores any key it does not use.
    if (const YAML::Node fc = rt["firecracker"]; c.vm && fc && fc.IsMap()) {
      c.memory_mib = number_of(fc, "mem_size_mib");
      c.cpus = number_of(fc, "vcpu_count");
      c.kernel = text_of(fc, "kernel_image_path");
      c.initrd = text_of(fc, "initrd_path");
    }
  }
  if (const YAML::Node inc = doc["include"]; inc && inc.IsMap()) {
    c.include_tars = list_of(inc, "tar");
    c.include_paths = list_of(inc, "path");
  }
  if (const YAML::Node t = doc["tiffin"]; t && t.IsMap()) {
    c.engine_image = text_of(t, "image");
    c.root = text_of(t, "root");
    c.run_root = text_of(t, "run_root");
    c.user = text_of(t, "user");
    c.home = flag_of(t, "home");
    c.accel = text_of(t, "accel");
  }
  if (!c.accel.empty() && c.accel != "kvm" && c.accel != "tcg") throw YAML::Exception(doc["tiffin"].Mark(), "accel: kvm or tcg");
  if (c.image.empty()) throw YAML::Exception(app.Mark(), "name (the image) is missing");
  if (c.host_app_path.empty()) throw YAML::Exception(app.Mark(), "host_app_path is missing");
  if (c.resume && c.attach) throw YAML::Exception(app.Mark(), "resume and attach exclude each other");
  return c;
}

// A string as YAML reads it back: yaml-cpp writes control characters such as a lone \r bare,
// and its reader then takes them for line breaks, so such strings are written double-quoted.
struct Text {
  const std::string& s;
};
YAML::Emitter& operator<<(YAML::Emitter& out, Text t) {
  bool control = std::any_of(t.s.begin(), t.s.end(), [](unsigned char ch) { return ch < 0x20 || ch == 0x7f; });
  if (control) out << YAML::DoubleQuoted;
  return out << t.s;
}
YAML::Emitter& operator<<(YAML::Emitter& out, const std::vector<std::string>& list) {
  out << YAML::BeginSeq;
  for (const auto& item : list) out << Text{item};
  return out << YAML::EndSeq;
}

}  // namespace

Result<std::string> flake_name(std::string_view host_app_path) {
  std::string name = std::filesystem::path(host_app_path).filename().string();
  if (name.empty() || name == "." || name == ".." || name.starts_with('.') || name.find('/') != std::string::npos)
    return fail(Errc::invalid_input, "not an application path: \"" + std::string(host_app_path) + "\"");
  return name;
}

Result<FlakeConfig> parse_flake_yaml(const std::vector<std::string>& documents, const std::vector<std::string>& names) {
  YAML::Node doc;
  size_t i = 0;
  try {
    for (; i < documents.size(); ++i) {
      // YAML is Unicode text; bytes that are not would be written back as something else.
      if (!valid_utf8(documents[i])) throw YAML::Exception(YAML::Mark::null_mark(), "not UTF-8 text");
      YAML::Node next = YAML::Load(documents[i]);
      if (next.IsNull()) continue;  // an empty drop-in changes nothing
      doc = doc ? merged(doc, next) : next;
    }
    i = documents.size() - 1;  // errors of the merged result: name the last file
    return from_node(doc);
  } catch (const YAML::Exception& e) {
    std::string where = i < names.size() ? names[i] : "flake";
    if (!e.mark.is_null()) where += ":" + std::to_string(e.mark.line + 1);
    return fail(Errc::invalid_input, where + ": " + e.msg);
  }
}

std::string flake_yaml(const FlakeConfig& c) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << (c.vm ? "vm" : "container") << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << Text{c.image};
  out << YAML::Key << "target_app_path" << YAML::Value << Text{c.target()};
  out << YAML::Key << "host_app_path" << YAML::Value << Text{c.host_app_path};
  if (!c.base_container.empty()) out << YAML::Key << "base_container" << YAML::Value << Text{c.base_container};
  if (!c.layers.empty()) out << YAML::Key << "layers" << YAML::Value << c.layers;
  out << YAML::Key << "runtime" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "runas" << YAML::Value << Text{(c.runas.empty() ? "root" : c.runas)};
  out << YAML::Key << "resume" << YAML::Value << c.resume;
  out << YAML::Key << "attach" << YAML::Value << c.attach;
  if (!c.run_options.empty()) out << YAML::Key << "podman" << YAML::Value << c.run_options;
  if (c.vm) {
    out << YAML::Key << "firecracker" << YAML::Value << YAML::BeginMap;
    if (c.memory_mib) out << YAML::Key << "mem_size_mib" << YAML::Value << c.memory_mib;
    if (c.cpus) out << YAML::Key << "vcpu_count" << YAML::Value << c.cpus;
    if (!c.kernel.empty()) out << YAML::Key << "kernel_image_path" << YAML::Value << Text{c.kernel};
    if (!c.initrd.empty()) out << YAML::Key << "initrd_path" << YAML::Value << Text{c.initrd};
    out << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap;
  if (!c.include_tars.empty() || !c.include_paths.empty()) {
    out << YAML::Key << "include" << YAML::Value << YAML::BeginMap;
    if (!c.include_tars.empty()) out << YAML::Key << "tar" << YAML::Value << c.include_tars;
    if (!c.include_paths.empty()) out << YAML::Key << "path" << YAML::Value << c.include_paths;
    out << YAML::EndMap;
  }
  out << YAML::Key << "tiffin" << YAML::Value << YAML::BeginMap;
  if (!c.engine_image.empty()) out << YAML::Key << "image" << YAML::Value << Text{c.engine_image};
  if (!c.root.empty()) out << YAML::Key << "root" << YAML::Value << Text{c.root};
  if (!c.run_root.empty()) out << YAML::Key << "run_root" << YAML::Value << Text{c.run_root};
  if (!c.user.empty()) out << YAML::Key << "user" << YAML::Value << Text{c.user};
  out << YAML::Key << "home" << YAML::Value << c.home;
  if (!c.accel.empty()) out << YAML::Key << "accel" << YAML::Value << Text{c.accel};
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

Result<FlakeConfig> load_flake(const std::string& flakes_dir, const std::string& name) {
  std::vector<std::string> docs, names;
  std::string main = flakes_dir + "/" + name + ".yaml";
  auto text = read_file(main, 1 << 20);
  if (!text) {
    if (text.error().sys_errno == ENOENT) return fail(Errc::not_found, "no flake " + name + " (" + main + " does not exist)");
    return std::unexpected(text.error().context(main));
  }
  docs.emplace_back(text->begin(), text->end());
  names.push_back(main);
  std::vector<std::string> dropins;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(flakes_dir + "/" + name + ".d", ec))
    if (entry.path().extension() == ".yaml") dropins.push_back(entry.path().string());
  std::sort(dropins.begin(), dropins.end());
  for (const auto& path : dropins) {
    auto more = TRY_CTX(read_file(path, 1 << 20), path);
    docs.emplace_back(more.begin(), more.end());
    names.push_back(path);
  }
  return parse_flake_yaml(docs, names);
}

std::vector<std::string> split_run_option(const std::string& option) {
  size_t space = option.find(' ');
  if (!option.starts_with('-') || space == std::string::npos || option.find('=') < space) return {option};
  size_t value = option.find_first_not_of(' ', space);
  if (value == std::string::npos) return {option.substr(0, space)};
  return {option.substr(0, space), option.substr(value)};
}

}  // namespace tiffin::flake
