// tiffin-vminit: /init of a flake's microVM (src/vm/guest_init); fully static, it is the only
// program in the initramfs.
#include "vm/guest_init.hpp"

int main() { tiffin::vm::guest_init_main(); }
