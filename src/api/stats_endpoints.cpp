// /containers/{id}/stats: docker's stats document, once (with a previous sample for the CPU
// percentage, as dockerd takes one) or a stream of them, a second apart.
#include <sys/sysinfo.h>
#include <unistd.h>

#include <thread>

#include "api/docker_view.hpp"
#include "api/engine_api.hpp"
#include "common/fd.hpp"
#include "common/text.hpp"

namespace tiffin::api {

using json = nlohmann::json;

namespace {

// The host's CPU time (all CPUs, all modes) in ns, from /proc/stat's first line: the system
// delta docker clients divide the container's by.
uint64_t system_cpu_nanos() {
  auto data = read_file("/proc/stat", 1 << 16);
  if (!data) return 0;
  std::string_view text(reinterpret_cast<const char*>(data->data()), data->size());
  text = text.substr(0, text.find('\n'));
  if (!text.starts_with("cpu ")) return 0;
  uint64_t jiffies = 0;
  for (size_t pos = 4; pos < text.size();) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    if (auto v = parse_uint<uint64_t>(text.substr(pos, end - pos))) jiffies += *v;
    pos = end + 1;
  }
  return jiffies * (1'000'000'000 / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK)));
}

struct Sample {
  std::string read = "0001-01-01T00:00:00Z";
  runtime::CgroupStats cgroup;
  net::NetIo net;
  uint64_t system_cpu = 0;
  bool running = false;
};

Result<Sample> sample(engine::Engine& e, const std::string& id) {
  Sample s;
  auto c = TRY(e.inspect(id));
  s.running = c.state.status == shim::ContainerStatus::running || c.state.status == shim::ContainerStatus::paused;
  if (!s.running) return s;  // docker's zero document
  s.read = rfc3339_nano(unix_nanos());
  s.cgroup = TRY(e.stats(id));
  s.net = e.network_io(c);
  s.system_cpu = system_cpu_nanos();
  return s;
}

json cpu_json(const Sample& s) {
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  return {{"cpu_usage", {{"total_usage", s.cgroup.cpu_usage}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
      {"system_cpu_usage", s.system_cpu}, {"online_cpus", s.running ? cpus : 0},
      {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
}

json stats_json(const engine::ContainerInfo& c, const Sample& now, const Sample& before) {
  struct sysinfo si {};
  ::sysinfo(&si);
  uint64_t host_memory = static_cast<uint64_t>(si.totalram) * si.mem_unit;
  uint64_t limit = now.cgroup.memory_limit && now.cgroup.memory_limit < host_memory ? now.cgroup.memory_limit : host_memory;
  json memory = json::object();
  if (now.running)
    // usage counts the page cache as the kernel does; docker's clients take inactive_file
    // (v2) / total_inactive_file (v1) off it again.
    memory = {{"usage", now.cgroup.memory_usage + now.cgroup.memory_cache},
        {"stats", {{"inactive_file", now.cgroup.memory_cache}, {"total_inactive_file", now.cgroup.memory_cache}}}, {"limit", limit}};
  json j = {{"read", now.read}, {"preread", before.read},
      {"pids_stats", now.running ? json{{"current", now.cgroup.pids_current}} : json::object()},
      {"blkio_stats", {{"io_service_bytes_recursive", nullptr}, {"io_serviced_recursive", nullptr}}}, {"num_procs", 0},
      {"storage_stats", json::object()}, {"cpu_stats", cpu_json(now)}, {"precpu_stats", cpu_json(before)}, {"memory_stats", memory},
      {"name", "/" + c.name}, {"id", c.id}};
  if (now.running && engine::network_mode(c.config) != engine::NetworkMode::host)
    j["networks"] = {{"eth0", {{"rx_bytes", now.net.rx_bytes}, {"rx_packets", 0}, {"rx_errors", 0}, {"rx_dropped", 0},
                                  {"tx_bytes", now.net.tx_bytes}, {"tx_packets", 0}, {"tx_errors", 0}, {"tx_dropped", 0}}}};
  return j;
}

}  // namespace

void add_stats_endpoints(EngineApi& api) {
  api.route("GET", "/containers/{id}/stats", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    std::string id = TRY(container_id(e, r.params["id"]));
    auto c = TRY(e.inspect(id));
    bool stream = r.flag("stream", true), one_shot = r.flag("one-shot");
    Response res;
    if (!stream) {
      Sample before;
      if (!one_shot) {
        before = TRY(sample(e, id));
        if (before.running) std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
      return json_response(200, stats_json(c, TRY(sample(e, id)), before));
    }
    res.stream = [&api, id, c](Connection& conn) {
      auto e = api.engine();
      if (!e) return;
      Sample before;
      for (;;) {
        auto now = sample(*e, id);
        if (!now || !write_json_line(conn, stats_json(c, *now, before))) return;
        before = std::move(*now);
        for (int i = 0; i < 10; ++i) {
          if (client_left(conn)) return;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
    };
    return res;
  });
}

}  // namespace tiffin::api
