// /_ping, /version, /info, /system/df: what clients ask before anything else.
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "api/api_version.hpp"
#include "api/docker_view.hpp"
#include "api/engine_api.hpp"

namespace tiffin::api {

using json = nlohmann::json;

namespace {

std::string kernel_release() {
  utsname u{};
  return ::uname(&u) == 0 ? u.release : "";
}

std::string hostname() {
  char buf[256] = {};
  return ::gethostname(buf, sizeof buf - 1) == 0 ? buf : "";
}

}  // namespace

void add_system_endpoints(EngineApi& api) {
  auto ping = [](Request&) -> Result<Response> {
    Response r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "OK";
    r.headers = {{"Cache-Control", "no-cache, no-store, must-revalidate"}, {"Pragma", "no-cache"}};
    return r;
  };
  api.route("GET", "/_ping", ping);
  api.route("HEAD", "/_ping", ping);

  api.route("GET", "/version", [](Request&) -> Result<Response> {
    json details = {{"ApiVersion", kMaxApiVersion}, {"MinAPIVersion", kMinApiVersion}, {"Os", "linux"}, {"Arch", host_architecture()},
        {"KernelVersion", kernel_release()}};
    json v = {{"Platform", {{"Name", "tiffin"}}}, {"Components", {{{"Name", "Engine"}, {"Version", TIFFIN_VERSION}, {"Details", details}}}},
        {"Version", TIFFIN_VERSION}, {"ApiVersion", kMaxApiVersion}, {"MinAPIVersion", kMinApiVersion}, {"GitCommit", ""},
        {"GoVersion", ""}, {"Os", "linux"}, {"Arch", host_architecture()}, {"KernelVersion", kernel_release()}, {"BuildTime", ""}};
    return json_response(200, v);
  });

  api.route("GET", "/info", [&api](Request&) -> Result<Response> {
    auto e = TRY(api.engine());
    auto all = TRY(e.list({true, {}}));
    int running = 0, paused = 0, stopped = 0;
    for (const auto& c : all) {
      if (c.state.status == shim::ContainerStatus::running) ++running;
      else if (c.state.status == shim::ContainerStatus::paused) ++paused;
      else ++stopped;
    }
    struct sysinfo si {};
    ::sysinfo(&si);
    json info = {{"ID", ""}, {"Containers", all.size()}, {"ContainersRunning", running}, {"ContainersPaused", paused},
        {"ContainersStopped", stopped}, {"Images", TRY(e.images()).size()}, {"Driver", "overlay"},
        {"DriverStatus", json::array({json::array({"Lower", "flist (lazy FUSE)"})})},
        {"Plugins", {{"Volume", {"local"}}, {"Network", {"bridge", "host", "none"}}}}, {"MemoryLimit", true}, {"SwapLimit", false},
        {"CpuCfsPeriod", true}, {"CpuCfsQuota", true}, {"PidsLimit", true}, {"IPv4Forwarding", true}, {"Debug", false}, {"NFd", 0},
        {"NGoroutines", 0}, {"SystemTime", rfc3339(::time(nullptr))}, {"LoggingDriver", "json-file"}, {"CgroupDriver", "cgroupfs"},
        {"NEventsListener", 0}, {"KernelVersion", kernel_release()}, {"OperatingSystem", "tiffin"}, {"OSType", "linux"},
        {"Architecture", host_architecture()}, {"NCPU", ::sysconf(_SC_NPROCESSORS_ONLN)},
        {"MemTotal", static_cast<uint64_t>(si.totalram) * si.mem_unit}, {"IndexServerAddress", "https://index.docker.io/v1/"},
        {"DockerRootDir", api.options().root}, {"Name", hostname()}, {"Labels", json::array()}, {"ExperimentalBuild", false},
        {"ServerVersion", TIFFIN_VERSION}, {"Runtimes", {{"tiffin-oci", {{"path", api.options().runtime_binary}}}}},
        {"DefaultRuntime", "tiffin-oci"}, {"Swarm", {{"LocalNodeState", "inactive"}}}, {"LiveRestoreEnabled", true}, {"Isolation", ""},
        {"InitBinary", ""}, {"SecurityOptions", {"name=seccomp,profile=builtin", "name=no-new-privileges"}}, {"Warnings", json::array()}};
    return json_response(200, info);
  });

  api.route("GET", "/system/df", [&api](Request&) -> Result<Response> {
    auto e = TRY(api.engine());
    json images = json::array(), containers = json::array(), volumes = json::array();
    uint64_t layers = 0;
    for (const auto& i : TRY(e.images())) {
      images.push_back(image_list_json(i));
      layers += i.size;
    }
    for (const auto& c : TRY(e.list({true, {}}))) containers.push_back(list_json(e, c));
    for (const auto& v : TRY(e.volumes())) {
      json j = volume_json(v);
      j["UsageData"] = {{"Size", -1}, {"RefCount", -1}};
      volumes.push_back(j);
    }
    return json_response(200,
        json{{"LayersSize", layers}, {"Images", images}, {"Containers", containers}, {"Volumes", volumes}, {"BuildCache", json::array()}});
  });
}

}  // namespace tiffin::api
