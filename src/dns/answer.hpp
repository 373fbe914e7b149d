// What tiffin-dns does with one query that arrived on a network's address: answer it from the
// network's names, forward it to the upstreams, or drop it. Pure (no sockets), so every rule is
// unit-tested:
// - a message that does not parse gets FORMERR when its header says it is a query, else it is
//   dropped (as are responses: nothing answers an answer, so no two servers can ping-pong);
// - opcodes other than QUERY get NOTIMP, a query without exactly one question FORMERR;
// - a name of the network answers A/AAAA (ANY: both; another type or a missing family: NOERROR
//   with no answer), authoritative, its addresses rotated by `rotation` (round-robin); PTR of a
//   record's address answers its names; a name under the search domain that the network lacks
//   is NXDOMAIN (it is the network's own, asking the upstreams would only leak it);
// - everything else is forwarded, or SERVFAIL when the network has no upstream.
// Replies over `max_size` (512 on UDP: tiffin-dns does not answer EDNS) keep the answers that fit
// and set TC, so the client retries over TCP.
#pragma once

#include <cstdint>
#include <span>

#include "dns/dns_message.hpp"
#include "dns/zone.hpp"

namespace tiffin::dns {

inline constexpr uint32_t local_ttl = 60;  // containers come and go; stub resolvers do not cache

struct Decision {
  enum class Kind { reply, forward, drop } kind = Kind::drop;
  Bytes reply;  // for Kind::reply
};

Decision decide(const Zone& zone, std::span<const uint8_t> query, size_t max_size, bool have_upstreams, uint32_t rotation);

// A reply to `query` with no answers and `rcode` (SERVFAIL when every upstream failed, FORMERR,
// NOTIMP): its id, opcode, RD and question echoed. Empty when `query` is not even a header.
Bytes error_reply(std::span<const uint8_t> query, uint8_t rcode);

}  // namespace tiffin::dns
