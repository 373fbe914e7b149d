// tiffin-snapshotter: a containerd proxy snapshotter (src/snapshotter) that serves images from
// their flists on a tiffin hub, lazily, and unpacks the others as containerd's overlayfs
// snapshotter does. containerd reaches it through
//   [proxy_plugins.tiffin] type = "snapshot"  address = "<--address>"
// See docs/KUBERNETES.md.
#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/fd.hpp"
#include "common/subprocess.hpp"
#include "common/termination_signals.hpp"
#include "snapshotter/hub_images.hpp"
#include "snapshotter/snapshots_service.hpp"

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tiffin;
  CLI::App app{"tiffin-snapshotter: containerd's snapshots API with images served lazily from tiffin flists"};
  std::string address = "/run/tiffin-snapshotter/snapshotter.sock", root = "/var/lib/tiffin-snapshotter", log_level = "info";
  snapshotter::HubImagesOptions hub;
  std::string token_file;
  app.add_option("--address", address, "The unix socket containerd connects to")->capture_default_str();
  app.add_option("--root", root, "Where snapshots, flists and metadata live")->capture_default_str();
  app.add_option("--hub", hub.hub_url, "The tiffin hub whose flists serve images lazily (none: every image is unpacked)");
  app.add_option("--hub-user", hub.user, "The hub user that owns the images' flists")->capture_default_str();
  app.add_option("--hub-token-file", token_file, "A file holding that user's token: images the hub lacks are converted there");
  app.add_flag("--only-existing", hub.only_existing, "Never ask the hub to convert: serve lazily only images it already has");
  bool no_share = false;
  app.add_flag("--no-share-profiles", no_share,
      "Do not tell the hub which blocks a container start reads (with a token, mounts report them: the hub merges the reports "
      "into the image's prefetch profile, which the next node's mount prefetches)");
  app.add_option("--cache", hub.cache_dir, "The block cache (default: <root>/cache)");
  app.add_option("--tiffin", hub.tiffin_binary, "tiffin-full, which serves the lazy mounts (default: beside this program)");
  app.add_option("--log-level", log_level, "debug, info, warn or error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));
  hub.share_profiles = !no_share;
  if (!hub.hub_url.empty() && hub.user.empty()) {
    std::fprintf(stderr, "tiffin-snapshotter: --hub needs --hub-user\n");
    return 2;
  }
  if (!token_file.empty()) {
    auto token = read_file(token_file, 64 << 10);
    if (!token) {
      std::fprintf(stderr, "tiffin-snapshotter: %s\n", token.error().what().c_str());
      return 1;
    }
    hub.token = trimmed(std::string(token->begin(), token->end()));
  }
  root = std::filesystem::absolute(root).lexically_normal().string();
  hub.root = root;
  if (hub.cache_dir.empty()) hub.cache_dir = root + "/cache";
  if (hub.tiffin_binary.empty()) hub.tiffin_binary = beside_self("tiffin-full");

  std::unique_ptr<snapshotter::LazyImages> lazy;
  if (!hub.hub_url.empty()) lazy = std::make_unique<snapshotter::HubImages>(hub);
  auto sn = snapshotter::Snapshotter::open(root, std::move(lazy));
  if (!sn) {
    std::fprintf(stderr, "tiffin-snapshotter: %s\n", sn.error().what().c_str());
    return 1;
  }

  TerminationSignals signals;  // before gRPC starts its threads: they inherit the mask

  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(address).parent_path(), ec);
  ::unlink(address.c_str());  // a socket left by a previous run
  snapshotter::SnapshotsService service(**sn);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + address, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  mode_t umask_before = ::umask(077);  // the socket: root's only (containerd runs as root)
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ::umask(umask_before);
  if (!server) {
    std::fprintf(stderr, "tiffin-snapshotter: cannot listen on %s\n", address.c_str());
    return 1;
  }
  spdlog::info("tiffin-snapshotter: serving {} on {}{}", root, address, hub.hub_url.empty() ? "" : " with images from " + hub.hub_url);
  int sig = signals.wait();
  spdlog::info("tiffin-snapshotter: signal {}, stopping", sig);
  // The lazy mounts are processes of their own: containers keep reading through them, and the
  // next start finds them (the metadata is on disk).
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  ::unlink(address.c_str());
  return 0;
}
