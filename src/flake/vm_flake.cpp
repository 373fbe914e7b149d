#include "flake/vm_flake.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

#include "common/fd.hpp"
#include "common/subprocess.hpp"
#include "common/text.hpp"
#include "vm/flake_vm.hpp"

namespace tiffin::flake {

namespace fs = std::filesystem;

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// One `tiffin` verb for the flake's node; its stdout.
Result<std::string> tiffin_verb(const FlakeConfig& c, std::vector<std::string> words, const std::string& what) {
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  std::vector<std::string> argv{(self.parent_path() / "tiffin").string()};
  auto flags = engine_flags(c);
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), words.begin(), words.end());
  Captured r = TRY_CTX(run_captured(argv, true), what);
  if (r.exit_code != 0) return fail(r.exit_code == 2 ? Errc::invalid_input : Errc::internal, what + ": " + trimmed(r.out));
  return trimmed(r.out);
}

// The container that holds the guest's root: made, provisioned, mounted; removed (and so
// unmounted) when the call ends, however it ends.
class GuestRoot {
 public:
  static Result<GuestRoot> make(const FlakeConfig& c) {
    std::string image = c.engine_image.empty() ? c.image : c.engine_image;
    std::string out = TRY(tiffin_verb(c, {"create", "--pull", "never", "--network", "none", image}, "creating the flake's root"));
    GuestRoot root(c, out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1));
    for (const auto& tar : c.include_tars) TRY(root.include_tar(tar));
    for (const auto& path : c.include_paths) {
      std::string parent = fs::path(path).parent_path().string();
      TRY(tiffin_verb(c, {"cp", "-a", path, root.id_ + ":" + (parent.empty() ? "/" : parent)}, "including " + path));
    }
    root.dir_ = TRY(tiffin_verb(c, {"mount", root.id_}, "mounting the flake's root"));
    std::string env = TRY(tiffin_verb(c, {"inspect", "--format", "{{json .Config.Env}}", root.id_}, "the image's environment"));
    auto parsed = nlohmann::json::parse(env, nullptr, false);
    if (parsed.is_array())
      for (const auto& kv : parsed)
        if (kv.is_string()) root.env_.push_back(kv.get<std::string>());
    return root;
  }
  GuestRoot(GuestRoot&& o) noexcept : c_(o.c_), id_(std::exchange(o.id_, {})), dir_(std::move(o.dir_)), env_(std::move(o.env_)) {}
  ~GuestRoot() {
    if (!id_.empty()) (void)tiffin_verb(c_, {"rm", "-f", id_}, "removing the flake's root");
  }
  const std::string& dir() const { return dir_; }
  const std::vector<std::string>& env() const { return env_; }

 private:
  GuestRoot(const FlakeConfig& c, std::string id) : c_(c), id_(std::move(id)) {}
  Result<void> include_tar(const std::string& tar) {
    UniqueFd in(::open(tar.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return fail_errno("including " + tar);
    std::error_code ec;
    std::vector<std::string> argv{(fs::read_symlink("/proc/self/exe", ec).parent_path() / "tiffin").string()};
    auto flags = engine_flags(c_);
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"cp", "-", id_ + ":/"});
    pid_t pid = TRY(spawn(argv, [&] { return ::dup2(in.get(), 0) == 0; }));
    if (int code = wait_exit(pid); code != 0)
      return fail(Errc::invalid_input, "including " + tar + ": tiffin cp exited with " + std::to_string(code));
    return {};
  }
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
  spec.kvm = c.accel != "tcg";
  if (const char* accel = std::getenv("TIFFIN_VM_ACCEL"); accel && *accel) spec.kvm = std::string(accel) != "tcg";
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

  GuestRoot root = TRY(GuestRoot::make(c));
  spec.root_dir = root.dir();
  spec.env = root.env();
  if (const char* term = std::getenv("TERM"); term && call.stdin_tty) spec.env.push_back(std::string("TERM=") + term);
  // Private (mkdtemp: 0700) and short: qemu's socket path must fit a sockaddr_un.
  std::string run_dir = (fs::temp_directory_path() / ("tiffin-vm-" + name + "-XXXXXX")).string();
  if (!::mkdtemp(run_dir.data())) return fail_errno("making a directory for the microVM");
  spec.run_dir = run_dir;
  std::error_code ec;
  ::signal(SIGPIPE, SIG_IGN);
  auto code = vm::run_flake_vm(spec, 0, 1, 2);
  fs::remove_all(spec.run_dir, ec);
  return code;
}

}  // namespace tiffin::flake
