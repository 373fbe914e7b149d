// DNS messages (RFC 1035) as tiffin-dns reads and writes them: the header, questions and
// resource records, with names decompressed on the way in. Everything arriving on a resolver's
// socket is hostile until parse_message says otherwise: a message that runs past its end, has a
// name longer than 255 bytes or a label longer than 63, a compression pointer that does not point
// strictly backwards (so no loop can be built), or bytes after the last record is refused with
// Errc::invalid_input, never read past.
//
// Names in text form are dotted, without the root's trailing dot ("web.tiffin"; the root is ""),
// case as on the wire; bytes outside letters, digits, '-', '_' and '*' (a '.' inside a label,
// '\\', spaces, control bytes) are escaped as \DDD, as dig prints them, so a label holding a dot
// never reads as two labels.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/hex.hpp"  // Bytes

namespace tiffin::dns {

namespace type {
inline constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16, AAAA = 28, OPT = 41, ANY = 255;
}
inline constexpr uint16_t class_in = 1, class_any = 255;

namespace rcode {
inline constexpr uint8_t noerror = 0, formerr = 1, servfail = 2, nxdomain = 3, notimp = 4, refused = 5;
}

// The flags word of the header, bit by bit.
namespace flag {
inline constexpr uint16_t qr = 0x8000, aa = 0x0400, tc = 0x0200, rd = 0x0100, ra = 0x0080;
}
inline uint8_t opcode_of(uint16_t flags) { return (flags >> 11) & 0xf; }
inline uint8_t rcode_of(uint16_t flags) { return flags & 0xf; }

inline constexpr size_t header_size = 12;
inline constexpr size_t max_name_wire = 255;  // RFC 1035 §3.1, the root's zero byte included
inline constexpr size_t max_label = 63;

struct Question {
  std::string name;
  uint16_t type = 0;
  uint16_t klass = class_in;
  bool operator==(const Question&) const = default;
};

struct Record {
  std::string name;
  uint16_t type = 0;
  uint16_t klass = class_in;
  uint32_t ttl = 0;
  // RDATA as it was on the wire. Names inside it (PTR, CNAME, …) are not decompressed: read them
  // with decode_name on the whole message. Records tiffin builds hold uncompressed names.
  Bytes data;
  bool operator==(const Record&) const = default;
};

struct Message {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::vector<Question> questions;
  std::vector<Record> answers, authority, additional;
  bool operator==(const Message&) const = default;
};

// The whole message, or invalid_input saying what is wrong and where.
Result<Message> parse_message(std::span<const uint8_t> wire);

// The first question only (header and question checked, the rest not read): how a forwarded
// reply is matched to its query without parsing records tiffin does not look at.
Result<Question> parse_first_question(std::span<const uint8_t> wire);

// The name at `offset` in `wire` (pointers followed, with the same limits as parse_message) and
// the offset just past it in the place it started.
struct DecodedName {
  std::string name;
  size_t end = 0;
};
Result<DecodedName> decode_name(std::span<const uint8_t> wire, size_t offset);

// A name in text form as wire labels, uncompressed (\DDD and \. escapes understood); invalid_input
// for an empty label, a label over 63 bytes or a name over 255.
Result<Bytes> encode_name(std::string_view name);

// The message on the wire. Owner names are compressed against earlier ones (the question's
// name, mostly); RDATA is written as it is. invalid_input when a name cannot be encoded or a
// section holds more than 65535 entries.
Result<Bytes> build_message(const Message& m);

// Lowercase ASCII only (DNS names compare case-insensitively in ASCII, RFC 4343).
std::string lowercase(std::string_view name);

}  // namespace tiffin::dns
