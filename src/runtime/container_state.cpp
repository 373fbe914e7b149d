#include "runtime/container_state.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/text.hpp"

namespace tiffin::runtime {

using json = nlohmann::json;

const char* status_name(Status s) {
  switch (s) {
    case Status::creating: return "creating";
    case Status::created: return "created";
    case Status::running: return "running";
    case Status::paused: return "paused";
    case Status::stopped: return "stopped";
  }
  return "unknown";
}

std::string oci_state_json(const ContainerState& s, Status status, bool indent) {
  json j = {{"ociVersion", s.oci_version}, {"id", s.id}, {"pid", status == Status::stopped ? 0 : s.pid}, {"status", status_name(status)},
      {"bundle", s.bundle}, {"rootfs", s.rootfs}, {"created", s.created}, {"owner", ""}, {"annotations", s.annotations}};
  return j.dump(indent ? 2 : -1);
}

Result<void> check_container_id(const std::string& id) {
  if (id.empty()) return fail(Errc::invalid_input, "container id cannot be empty");
  if (id == "." || id == ".." || id.size() > 1024) return fail(Errc::invalid_input, "invalid container id: " + id);
  for (unsigned char c : id)
    if (!std::isalnum(c) && c != '_' && c != '+' && c != '-' && c != '.') return fail(Errc::invalid_input, "invalid container id: " + id);
  return {};
}

uint64_t process_start_time(pid_t pid) {
  if (pid <= 0) return 0;
  auto data = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!data) return 0;
  std::string s(data->begin(), data->end());
  // comm may hold spaces and parentheses: fields start after the last ')'.
  size_t p = s.rfind(')');
  if (p == std::string::npos || p + 2 >= s.size()) return 0;
  if (s[p + 2] == 'Z' || s[p + 2] == 'X') return 0;
  size_t pos = p + 2;
  for (int field = 3; field < 22; ++field) {
    pos = s.find(' ', pos);
    if (pos == std::string::npos) return 0;
    ++pos;
  }
  size_t end = s.find(' ', pos);
  return parse_uint(std::string_view(s).substr(pos, end == std::string::npos ? std::string::npos : end - pos)).value_or(0);
}

Result<void> StateStore::make_dir(const std::string& id) const {
  TRY(check_container_id(id));
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) return fail(Errc::io, "creating the state root " + root_ + ": " + ec.message());
  if (::mkdir(dir(id).c_str(), 0711) != 0) {
    if (errno == EEXIST) return fail(Errc::conflict, "container with id exists: " + id);
    return fail_errno("creating " + dir(id));
  }
  return {};
}

Result<void> StateStore::save(const ContainerState& s) const {
  json ns = json::array();
  for (const auto& n : s.namespaces) ns.push_back({{"type", n.type}, {"path", n.path}});
  json j = {{"id", s.id}, {"bundle", s.bundle}, {"rootfs", s.rootfs}, {"created", s.created}, {"ociVersion", s.oci_version}, {"pid", s.pid},
      {"pid_start", s.pid_start}, {"creator", s.creator}, {"annotations", s.annotations}, {"namespaces", ns}, {"no_pivot", s.no_pivot},
      {"cgroup_mode", cgroup_mode_name(s.cgroup_mode)}, {"cgroup_dirs", s.cgroup_dirs}, {"cgroup_created", s.cgroup_created}};
  std::string text = j.dump();
  return write_file_atomic(dir(s.id) + "/state.json", std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 0600, false);
}

Result<ContainerState> StateStore::load(const std::string& id) const {
  TRY(check_container_id(id));
  auto data = read_file(dir(id) + "/state.json", 16 << 20);
  if (!data) {
    if (data.error().sys_errno == ENOENT) return fail(Errc::not_found, "container " + id + " does not exist");
    return std::unexpected(data.error());
  }
  json j = json::parse(data->begin(), data->end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(Errc::corrupt, "state of container " + id + " is not valid JSON");
  try {
    ContainerState s;
    s.id = j.at("id");
    s.bundle = j.at("bundle");
    s.rootfs = j.at("rootfs");
    s.created = j.at("created");
    s.oci_version = j.value("ociVersion", "1.1.0");
    s.pid = j.at("pid");
    s.pid_start = j.at("pid_start");
    s.creator = j.value("creator", 0);
    s.annotations = j.value("annotations", std::map<std::string, std::string>{});
    for (const auto& n : j.at("namespaces")) s.namespaces.push_back({n.at("type"), n.at("path")});
    s.no_pivot = j.value("no_pivot", false);
    std::string mode = j.at("cgroup_mode");
    s.cgroup_mode = mode == "v1" ? CgroupMode::v1 : mode == "hybrid" ? CgroupMode::hybrid : CgroupMode::v2;
    s.cgroup_dirs = j.at("cgroup_dirs").get<std::vector<std::string>>();
    s.cgroup_created = j.at("cgroup_created").get<std::vector<std::string>>();
    return s;
  } catch (const json::exception& e) {
    return fail(Errc::corrupt, "state of container " + id + ": " + e.what());
  }
}

void StateStore::remove(const std::string& id) const {
  if (check_container_id(id)) {
    std::error_code ec;
    std::filesystem::remove_all(dir(id), ec);
  }
}

std::vector<std::string> StateStore::ids() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root_, ec))
    if (e.is_directory(ec) && !e.path().filename().string().starts_with("."))  // .seccomp-cache
      out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

Result<Spec> StateStore::saved_spec(const ContainerState& s) const {
  Bytes text = TRY(read_file(config(s.id), 16 << 20));
  return parse_spec(std::string(text.begin(), text.end()), s.bundle);
}

Status StateStore::status(const ContainerState& s) const {
  // A create that was killed before it finished never comes back.
  if (s.creator != 0) return process_start_time(s.creator) ? Status::creating : Status::stopped;
  if (s.pid <= 0 || process_start_time(s.pid) != s.pid_start) return Status::stopped;
  if (::access(fifo(s.id).c_str(), F_OK) == 0) return Status::created;
  if (s.cgroup().frozen()) return Status::paused;
  return Status::running;
}

}  // namespace tiffin::runtime
