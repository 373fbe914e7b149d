// tiffin flist mount x.fl <dir> | umount <dir> | profile x.fl (-o p | --embed) -- cmd |
// profile-embed x.fl p — the lazy filesystem and its prefetch profiles.
#include <fmt/core.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.hpp"
#include "engine/trust_policy.hpp"
#include "flist/flist_profile.hpp"
#include "fuse/lazy_fs.hpp"
#include "hub/flist_ref.hpp"

namespace tiffin::cli {
namespace {

// The node's trust policy (its --root) before anything is mounted or forked: with
// require-signed, an flist no trusted publisher signed is refused before a block is read.
Result<void> check_trust(const Context& ctx, const std::string& flist) {
  TRY(TRY(engine::TrustPolicy::load(ctx.engine.root)).check_flist(flist));
  return {};
}

// What `mount` and `profile` share: where blocks come from and how they are cached.
struct MountFlags {
  MountOptions o;
  uint64_t cache_mib = 2048;
  unsigned timeout_ms = 5000;
  unsigned learn_seconds = 30;

  void add_to(CLI::App* cmd) {
    cmd->add_option("-s,--store", o.stores, "Read blocks from these stores instead of the flist's routes");
    cmd->add_option("--cache", o.cache_dir, "The node's block cache directory")->capture_default_str();
    cmd->add_option("--cache-size", cache_mib, "Bound of the block cache in MiB (least recently used blocks go first)")
        ->capture_default_str();
    cmd->add_option("--timeout", timeout_ms, "Milliseconds a block fetch may take before the read fails with EIO")->capture_default_str();
    cmd->add_option("--readahead", o.readahead_blocks, "Blocks fetched ahead of a sequential reader")->capture_default_str();
    cmd->add_option("--prefetch", o.prefetch_profile, "Fetch the blocks of this profile (tiffin flist profile) in the background");
    cmd->add_flag("!--no-passthrough", o.passthrough, "Serve every read through this process, never by kernel FUSE passthrough");
  }
  MountOptions finish() {
    o.cache_bytes = cache_mib << 20;
    o.timeout = std::chrono::milliseconds(timeout_ms);
    o.learn_window = std::chrono::seconds(learn_seconds);
    return o;
  }
};

}  // namespace

void add_flist_mount(CLI::App& flist, Context& ctx) {
  auto m = std::make_shared<MountFlags>();
  auto rw = std::make_shared<layer::RwLayerOptions>();
  CLI::App* mount = flist.add_subcommand("mount", "Mount an flist read-only; content is fetched block by block when read");
  mount->add_option("flist", m->o.flist)->required();
  mount->add_option("mountpoint", m->o.mountpoint)->required();
  m->add_to(mount);
  mount->add_option("--rw", rw->dir, "Writable root: overlayfs over the flist, the writes kept in this directory");
  mount->add_option("--size", rw->size_mib, "With --rw: the writable layer is an image of this many MiB (ENOSPC beyond)");
  mount->add_option("--disk-type", rw->disk_type, "With --size: the storage pool of the image, ssd or hdd")->capture_default_str();
  mount->add_option("--pools", rw->pools_dir, "Directory of the storage pools (<pools>/<disk type>/)")->capture_default_str();
  mount->add_option("--record-profile", m->o.record_profile, "At unmount, write the blocks that were read to this profile");
  auto share = std::make_shared<std::string>();
  mount->add_option("--share-profile", *share,
      "Report the blocks read in the first seconds to this hub flist "
      "(http(s)://hub/user/name[:tag]), which learns a profile for every node from such reports");
  mount
      ->add_option("--token", m->o.report_token,
          "With --share-profile: a token of the hub (prefer $TIFFIN_HUB_TOKEN: a flag stays visible in ps for the life of the mount)")
      ->envname("TIFFIN_HUB_TOKEN");
  mount->add_option("--learn-seconds", m->learn_seconds, "With --share-profile: how long after mounting reads are recorded")
      ->capture_default_str();
  mount->add_option("--log-file", m->o.log_file, "With --daemon: append the mount's log here");
  mount->add_flag("-d,--daemon", m->o.daemon, "Return once mounted and serve in the background");
  mount->add_flag("--fuse-debug", m->o.debug, "Log every FUSE request");
  mount->callback([&ctx, m, rw, share] {
    ctx.run([&]() -> Result<int> {
      MountOptions o = m->finish();
      ::unsetenv("TIFFIN_HUB_TOKEN");  // read: the mount's life need not carry it in its environment
      if (!share->empty()) {
        hub::HubLocation at = TRY(hub::parse_hub_location(*share));
        o.report_profile_url = at.base + "/api/flist/" + at.ref.user + "/" + at.ref.name + ":" + at.ref.tag + "/profile";
        if (o.report_token.empty()) return fail(Errc::invalid_input, "--share-profile needs a hub token (--token or TIFFIN_HUB_TOKEN)");
      }
      if (!rw->dir.empty()) {
        TRY(layer::validate_rw_options(*rw));
        o.rw = *rw;
      } else if (rw->size_mib) {
        return fail(Errc::invalid_input, "--size needs --rw <dir>");
      }
      TRY(check_trust(ctx, o.flist));
      TRY(mount_flist(o));
      return 0;
    });
  });

  auto target = std::make_shared<std::string>();
  CLI::App* umount = flist.add_subcommand("umount", "Unmount an flist (also one whose mount process died)");
  umount->add_option("mountpoint", *target)->required();
  umount->callback([&ctx, target] {
    ctx.run([&]() -> Result<int> {
      TRY(unmount_flist(*target));
      return 0;
    });
  });

  auto p = std::make_shared<MountFlags>();
  auto command = std::make_shared<std::vector<std::string>>();
  auto chroot = std::make_shared<bool>(false);
  auto embed = std::make_shared<bool>(false);
  CLI::App* profile = flist.add_subcommand(
      "profile", "Record which blocks a command reads: tiffin flist profile x.fl (-o x.profile | --embed) [--chroot] -- cmd args…");
  profile->add_option("flist", p->o.flist)->required();
  profile->add_option("-o,--output", p->o.record_profile, "The profile file to write");
  profile->add_flag("--embed", *embed, "Write the profile into the flist itself (its tiffin_profile table; signatures stay valid)");
  p->add_to(profile);
  profile->add_flag("--chroot", *chroot, "Run the command chrooted into the mount (else it gets TIFFIN_MOUNT=<dir>)");
  profile->add_option("command", *command, "The command and its arguments (after --)")->required();
  profile->callback([&ctx, p, command, chroot, embed] {
    ctx.run([&]() -> Result<int> {
      if (p->o.record_profile.empty() && !*embed) return fail(Errc::invalid_input, "say where the profile goes: -o FILE or --embed");
      TRY(check_trust(ctx, p->o.flist));
      MountOptions o = p->finish();
      // With --embed alone, the mount records to a temporary file that is then embedded.
      struct Temp {
        std::string path;
        ~Temp() {
          if (!path.empty()) ::unlink(path.c_str());
        }
      } temp;
      if (o.record_profile.empty()) {
        char tmpl[] = "/tmp/tiffin-profile-XXXXXX.profile";
        int fd = ::mkstemps(tmpl, 8);
        if (fd < 0) return fail_errno("mkstemps");
        ::close(fd);
        temp.path = o.record_profile = tmpl;
      }
      int status = TRY(profile_command(o, *command, *chroot));
      if (temp.path.empty()) fmt::print(stderr, "profile written to {} (command exited with {})\n", o.record_profile, status);
      if (*embed) {
        size_t n = TRY(embed_profile_file(o.flist, o.record_profile));
        fmt::print(stderr, "profile of {} blocks embedded in {} (command exited with {})\n", n, o.flist, status);
      }
      return status;
    });
  });

  struct EmbedOpts {
    std::string flist, profile;
    bool remove = false;
  };
  auto e = std::make_shared<EmbedOpts>();
  CLI::App* pe = flist.add_subcommand("profile-embed", "Embed a prefetch profile file in an flist (or --remove the embedded one)");
  pe->add_option("flist", e->flist)->required();
  pe->add_option("profile", e->profile, "A profile written by tiffin flist profile -o or mount --record-profile");
  pe->add_flag("--remove", e->remove, "Remove the flist's embedded profile");
  pe->callback([&ctx, e] {
    ctx.run([&]() -> Result<int> {
      if (e->remove == !e->profile.empty()) return fail(Errc::invalid_input, "give a profile file or --remove (not both)");
      if (e->remove) {
        TRY(write_flist_profile(e->flist, {}));
        fmt::print(stderr, "{}: embedded profile removed\n", e->flist);
        return 0;
      }
      size_t n = TRY(embed_profile_file(e->flist, e->profile));
      fmt::print(stderr, "profile of {} blocks embedded in {}\n", n, e->flist);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
