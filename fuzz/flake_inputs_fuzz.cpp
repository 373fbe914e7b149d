// Fuzzes what a flake's launcher reads from others: registrations (flake-pilot's YAML, merged from
// several files), the resume agent's messages (from whoever reaches its socket) and a microVM's
// frames (the guest is not trusted). The first byte picks the reader; nothing may crash, hang or
// throw: bad input ends in an error.
#include <cstdint>
#include <string>
#include <string_view>

#include "flake/flake_config.hpp"
#include "flake/resume_agent.hpp"
#include "vm/flake_vm_protocol.hpp"

using namespace tiffin;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      // Up to three documents, split at NUL: NAME.yaml and its drop-ins.
      std::vector<std::string> docs;
      for (size_t at = 0; docs.size() < 3;) {
        size_t nul = in.find('\0', at);
        docs.emplace_back(in.substr(at, nul == std::string_view::npos ? std::string_view::npos : nul - at));
        if (nul == std::string_view::npos) break;
        at = nul + 1;
      }
      auto c = flake::parse_flake_yaml(docs, {"a.yaml", "a.d/1.yaml", "a.d/2.yaml"});
      if (c) {
        // What parses writes back to what parses the same (with the defaults the writer spells
        // out: the target, runas root).
        flake::FlakeConfig want = *c;
        want.target_app_path = c->target();
        if (want.runas.empty()) want.runas = "root";
        auto again = flake::parse_flake_yaml({flake::flake_yaml(*c)}, {"again.yaml"});
        if (!again || !(*again == want)) __builtin_trap();
      }
      break;
    }
    case 1: {
      auto r = flake::decode_request(in);
      if (r && flake::encode_request(*r) != in) __builtin_trap();
      (void)flake::decode_outcome(in);
      break;
    }
    case 2: {
      vm::FrameReader reader;
      // In pieces of the sizes the input's bytes say, as a socket delivers them.
      for (size_t at = 0; at < in.size();) {
        size_t n = 1 + uint8_t(in[at]) % 64;
        reader.feed(in.substr(at, n));
        at += n;
        for (;;) {
          auto f = reader.next();
          if (!f || !*f) break;
          switch ((*f)->type) {
            case vm::FrameType::run: (void)vm::decode_request((*f)->payload); break;
            case vm::FrameType::exit: (void)vm::decode_exit((*f)->payload); break;
            case vm::FrameType::error: (void)vm::decode_error_frame((*f)->payload); break;
            case vm::FrameType::timing: (void)vm::decode_timing((*f)->payload); break;
            case vm::FrameType::signal: (void)vm::decode_signal((*f)->payload); break;
            default: break;
          }
        }
      }
      break;
    }
    default: (void)flake::split_run_option(std::string(in)); break;
  }
  return 0;
}
