// Fuzzes what tiffin-dns does with a packet from a container: the message parser (names,
// compression pointers, counts), the answer logic over a small network, and the round trip of
// anything the parser accepts (parse → build → parse gives the same message).
#include <cstdint>
#include <cstdlib>

#include "dns/answer.hpp"
#include "dns/dns_message.hpp"

using namespace tiffin;
using namespace tiffin::dns;

namespace {

const Zone& zone() {
  static const Zone z(*parse_network_file("fuzz",
      "listen 10.89.0.1\nupstream 127.0.0.1\nsearch tiffin\nrecord web 10.89.0.2\nrecord web fd00::2\nrecord db 10.89.0.3\n", "fuzz.conf"));
  return z;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> wire(data, size);
  (void)parse_first_question(wire);
  for (size_t max : {size_t(512), size_t(65535)}) {
    Decision d = decide(zone(), wire, max, true, static_cast<uint32_t>(size));
    if (d.kind == Decision::Kind::reply && !d.reply.empty() && (!parse_message(d.reply) || d.reply.size() > max)) std::abort();
  }
  auto m = parse_message(wire);
  if (!m) return 0;
  auto built = build_message(*m);
  if (!built) std::abort();
  auto again = parse_message(*built);
  if (!again || *again != *m) std::abort();
  return 0;
}
