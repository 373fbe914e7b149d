// Fuzz target (libFuzzer interface) for the .fl reader: any bytes given as a .fl must load
// into a valid tree or fail with an error — never crash, hang or leak. Trees that load are
// saved and loaded again and must keep their digest.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/fd.hpp"
#include "flist/flist_file.hpp"
#include "flist/signature.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/tiffin-fuzz-XXXXXX";
    return std::string(::mkdtemp(tmpl.data()));
  }();
  const std::string in = dir + "/in.fl", out = dir + "/out.fl";
  ::unlink(in.c_str());
  {
    tiffin::UniqueFd fd(::open(in.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
    if (!fd || !tiffin::write_all(fd.get(), {data, size})) return 0;
  }
  auto tree = tiffin::load_flist(in);
  if (!tree) return 0;
  tiffin::Hash d = tiffin::flist_digest(*tree);
  if (auto saved = tiffin::save_flist(out, *tree); !saved) {
    std::fprintf(stderr, "save failed: %s\n", saved.error().message.c_str());
    __builtin_trap();
  }
  auto again = tiffin::load_flist(out);
  if (!again) {
    std::fprintf(stderr, "reload failed: %s\n", again.error().message.c_str());
    __builtin_trap();
  }
  if (tiffin::flist_digest(*again) != d) {
    std::fprintf(stderr, "digest changed by a save\n");
    __builtin_trap();
  }
  return 0;
}
