// A flake microVM's /init (apps/tiffin-vminit, fully static): it makes the guest a place to run
// one app and runs it.
//
// It mounts devtmpfs, proc and sysfs, loads the kernel modules the initramfs lists (in order; one
// already loaded or built in is fine), finds the virtio-serial port named kFlakePortName under
// /sys/class/virtio-ports (there is no udev), mounts the host directory exported over virtio-9p
// as the new root with proc, sys and dev inside it as a container has them, reads the run
// request, chroots, and runs the app with pipes as its stdin, stdout and stderr, relaying them as
// frames (vm/flake_vm_protocol) and delivering signal frames to it. Then it sends the exit
// frame, syncs and powers the VM off. Every failure becomes an error frame (and a line on the
// serial console) before the power-off, so the host never waits for a guest that gave up.
#pragma once

namespace tiffin::vm {

// The initramfs's layout, shared with vm/flake_initramfs, which builds it.
inline constexpr const char* kGuestModuleList = "/modules.list";  // one .ko path a line, load order
inline constexpr const char* kGuestRootMount = "/newroot";        // where the 9p root is mounted
// The 9p export's tag (qemu's mount_tag=…).
inline constexpr const char* kRootMountTag = "tiffin.root";

// Does all of the above; never returns (the VM powers off).
[[noreturn]] void guest_init_main();

}  // namespace tiffin::vm
