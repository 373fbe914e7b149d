#include "flake/vm_flake.hpp"

#include <signal.h>
#include <unistd.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "common/text.hpp"
#include "flake/tiffin_steps.hpp"
#include "vm/flake_vm.hpp"

namespace tiffin::flake {

namespace fs = std::filesystem;

namespace {

// The container that holds the guest's root: made, provisioned, mounted; removed (and so
// unmounted) when the call ends, however it ends.
class GuestRoot {
 public:
  static Result<GuestRoot> make(const FlakeConfig& c) {
    std::string image = c.engine_image.empty() ? c.image : c.engine_image;
    std::string out = TRY(tiffin_step(c, {"create", "--pull", "never", "--network", "none", image}, "creating the flake's root"));
    GuestRoot root(c, last_line(out));
    TRY(provision_includes(c, root.id_));
    root.dir_ = TRY(tiffin_step(c, {"mount", root.id_}, "mounting the flake's root"));
    std::string env = TRY(tiffin_step(c, {"inspect", "--format", "{{json .Config.Env}}", root.id_}, "the image's environment"));
    auto parsed = nlohmann::json::parse(env, nullptr, false);
    if (parsed.is_array())
      for (const auto& kv : parsed)
        if (kv.is_string()) root.env_.push_back(kv.get<std::string>());
    return root;
  }
  GuestRoot(GuestRoot&& o) noexcept : c_(o.c_), id_(std::exchange(o.id_, {})), dir_(std::move(o.dir_)), env_(std::move(o.env_)) {}
  ~GuestRoot() {
    if (!id_.empty()) (void)tiffin_step(c_, {"rm", "-f", id_}, "removing the flake's root");
  }
  const std::string& dir() const { return dir_; }
  const std::vector<std::string>& env() const { return env_; }

 private:
  GuestRoot(const FlakeConfig& c, std::string id) : c_(c), id_(std::move(id)) {}
  const FlakeConfig& c_;
  std::string id_, dir_;
  std::vector<std::string> env_;
};

}  // namespace

Result<int> run_vm_flake(const std::string& name, const FlakeConfig& c, const Caller& call) {
  if (c.kernel.empty() || c.initrd.empty())
    return fail(Errc::invalid_input, "a vm flake needs kernel_image_path and initrd_path (tiffin flake register --vm)");
  vm::FlakeVmSpec spec;
  spec.kernel = c.kernel;
  spec.initrd = c.initrd;
  if (c.memory_mib) spec.memory_mib = c.memory_mib;
  if (c.cpus) spec.cpus = c.cpus;
  std::string accel = c.accel;
  if (const char* forced = std::getenv("TIFFIN_VM_ACCEL"); forced && *forced) accel = forced;
  spec.kvm = accel == "kvm" || (accel.empty() && vm::hardware_kvm());
  if (!spec.kvm) spec.boot_timeout_ms = 60000;  // emulation boots in seconds, more on a busy host
  if (!c.user.empty()) {
    auto parts = split(c.user, ':');
    auto uid = parse_uint<uint32_t>(parts[0]);
    auto gid = parts.size() > 1 ? parse_uint<uint32_t>(parts[1]) : uid;
    if (!uid || !gid) return fail(Errc::invalid_input, "user " + c.user + ": uid[:gid] in numbers");
    spec.uid = *uid;
    spec.gid = *gid;
  }
  spec.argv.push_back(c.target());
  spec.argv.insert(spec.argv.end(), call.args.begin(), call.args.end());

  HeldSignals held;  // the container goes however the call ends (run_flake_vm forwards them to the app)
  auto t0 = std::chrono::steady_clock::now();
  GuestRoot root = TRY(GuestRoot::make(c));
  double root_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  spec.root_dir = root.dir();
  spec.env = root.env();
  if (const char* term = std::getenv("TERM"); term && call.stdin_tty) spec.env.push_back(std::string("TERM=") + term);
  // Private (mkdtemp: 0700) and short: qemu's socket path must fit a sockaddr_un.
  std::string run_dir = (fs::temp_directory_path() / ("tiffin-vm-" + name + "-XXXXXX")).string();
  if (!::mkdtemp(run_dir.data())) return fail_errno("making a directory for the microVM");
  spec.run_dir = run_dir;
  std::error_code ec;
  ::signal(SIGPIPE, SIG_IGN);
  vm::FlakeVmTimes times;
  auto code = vm::run_flake_vm(spec, 0, 1, 2, &times);
  fs::remove_all(spec.run_dir, ec);
  // flake-pilot's debugging switch: where the call's time went, on stderr.
  if (const char* debug = std::getenv("PILOT_DEBUG"); debug && *debug && *debug != '0') {
    std::string marks;
    for (const auto& m : times.marks) marks += fmt::format(" {} {:.0f}", printable(m.name), m.guest_ms);  // the guest's words
    fmt::print(stderr,
        "tiffin-pilot: {} ({}): root {:.0f} ms; qemu spawned {:.0f}, port {:.0f}, exit frame {:.0f}, qemu exited {:.0f} ms; guest clock:{} "
        "ms\n",
        name, spec.kvm ? "kvm" : "tcg", root_ms, times.qemu_spawned, times.port_connected, times.exit_frame, times.qemu_exited, marks);
  }
  return code;
}

}  // namespace tiffin::flake
