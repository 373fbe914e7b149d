#include "dns/dns_message.hpp"

#include <cctype>
#include <map>

namespace tiffin::dns {

namespace {

std::unexpected<Error> malformed(const std::string& what, size_t offset) {
  return fail(Errc::invalid_input, "malformed DNS message: " + what + " at byte " + std::to_string(offset));
}

bool plain_label_byte(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*';
}

void append_label_text(std::string& out, std::span<const uint8_t> label) {
  if (!out.empty()) out += '.';
  for (uint8_t c : label) {
    if (plain_label_byte(c)) {
      out += static_cast<char>(c);
    } else {
      char esc[5] = {'\\', static_cast<char>('0' + c / 100), static_cast<char>('0' + c / 10 % 10), static_cast<char>('0' + c % 10), 0};
      out += esc;
    }
  }
}

uint16_t get16(std::span<const uint8_t> w, size_t at) { return static_cast<uint16_t>(w[at] << 8 | w[at + 1]); }
uint32_t get32(std::span<const uint8_t> w, size_t at) { return uint32_t(get16(w, at)) << 16 | get16(w, at + 2); }
void put16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> wire) : wire_(wire) {}

  Result<std::string> name() {
    auto d = TRY(decode_name(wire_, pos_));
    pos_ = d.end;
    return std::move(d.name);
  }
  Result<uint16_t> u16(const char* what) {
    if (wire_.size() - pos_ < 2) return malformed(std::string("truncated ") + what, pos_);
    pos_ += 2;
    return get16(wire_, pos_ - 2);
  }
  Result<uint32_t> u32(const char* what) {
    if (wire_.size() - pos_ < 4) return malformed(std::string("truncated ") + what, pos_);
    pos_ += 4;
    return get32(wire_, pos_ - 4);
  }
  Result<Bytes> bytes(size_t n) {
    if (wire_.size() - pos_ < n) return malformed("RDATA runs past the end", pos_);
    Bytes b(wire_.begin() + static_cast<ptrdiff_t>(pos_), wire_.begin() + static_cast<ptrdiff_t>(pos_ + n));
    pos_ += n;
    return b;
  }
  size_t pos() const { return pos_; }
  void seek(size_t p) { pos_ = p; }

 private:
  std::span<const uint8_t> wire_;
  size_t pos_ = 0;
};

Result<Record> read_record(Reader& r) {
  Record rec;
  rec.name = TRY(r.name());
  rec.type = TRY(r.u16("record type"));
  rec.klass = TRY(r.u16("record class"));
  rec.ttl = TRY(r.u32("record TTL"));
  uint16_t len = TRY(r.u16("RDATA length"));
  rec.data = TRY(r.bytes(len));
  return rec;
}

// Name compression when building: every suffix written so far, by its offset (only offsets a
// 14-bit pointer can reach). Exact bytes, not case-folded: a reply keeps each name's spelling
// (resolvers using 0x20 randomisation compare it).
class NameWriter {
 public:
  Result<void> write(Bytes& out, std::string_view name) {
    Bytes wire = TRY(encode_name(name));
    // Walk the labels; at each suffix, either point to an earlier copy or note this one.
    size_t at = 0;
    while (wire[at] != 0) {
      std::string key(reinterpret_cast<const char*>(wire.data() + at), wire.size() - at);
      if (auto it = seen_.find(key); it != seen_.end()) {
        put16(out, static_cast<uint16_t>(0xC000 | it->second));
        return {};
      }
      if (out.size() < 0x4000) seen_.emplace(std::move(key), static_cast<uint16_t>(out.size()));
      size_t len = wire[at] + 1u;
      out.insert(out.end(), wire.begin() + static_cast<ptrdiff_t>(at), wire.begin() + static_cast<ptrdiff_t>(at + len));
      at += len;
    }
    out.push_back(0);
    return {};
  }

 private:
  std::map<std::string, uint16_t> seen_;
};

}  // namespace

std::string lowercase(std::string_view name) {
  std::string s(name);
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

Result<DecodedName> decode_name(std::span<const uint8_t> wire, size_t offset) {
  DecodedName out;
  size_t pos = offset;
  size_t wire_len = 1;  // the root's zero byte
  // Each pointer must point below the previous one's target (below itself for the first), so
  // the walk always moves to strictly earlier bytes: no loop can be built.
  size_t limit = offset;
  bool jumped = false;
  for (;;) {
    if (pos >= wire.size()) return malformed("name runs past the end", pos);
    uint8_t len = wire[pos];
    if ((len & 0xC0) == 0xC0) {
      if (pos + 1 >= wire.size()) return malformed("truncated compression pointer", pos);
      size_t target = static_cast<size_t>((len & 0x3F) << 8 | wire[pos + 1]);
      if (target >= limit) return malformed("compression pointer that does not point backwards", pos);
      if (!jumped) out.end = pos + 2;
      jumped = true;
      limit = target;
      pos = target;
      continue;
    }
    if (len & 0xC0) return malformed("reserved label type", pos);
    if (len == 0) {
      if (!jumped) out.end = pos + 1;
      return out;
    }
    if (pos + 1 + len > wire.size()) return malformed("label runs past the end", pos);
    wire_len += len + 1u;
    if (wire_len > max_name_wire) return malformed("name longer than 255 bytes", pos);
    append_label_text(out.name, wire.subspan(pos + 1, len));
    pos += 1u + len;
  }
}

Result<Bytes> encode_name(std::string_view name) {
  Bytes out;
  if (name.empty()) return Bytes{0};
  std::string label;
  auto flush = [&]() -> Result<void> {
    if (label.empty()) return fail(Errc::invalid_input, "empty label in DNS name '" + std::string(name) + "'");
    if (label.size() > max_label) return fail(Errc::invalid_input, "DNS label longer than 63 bytes in '" + std::string(name) + "'");
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    label.clear();
    return {};
  };
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '.') {
      TRY(flush());
    } else if (c == '\\') {
      if (i + 3 < name.size() && std::isdigit(static_cast<unsigned char>(name[i + 1])) &&
          std::isdigit(static_cast<unsigned char>(name[i + 2])) && std::isdigit(static_cast<unsigned char>(name[i + 3]))) {
        int v = (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
        if (v > 255) return fail(Errc::invalid_input, "bad \\DDD escape in DNS name '" + std::string(name) + "'");
        label += static_cast<char>(v);
        i += 3;
      } else if (i + 1 < name.size()) {
        label += name[++i];
      } else {
        return fail(Errc::invalid_input, "DNS name ends in a backslash");
      }
    } else {
      label += c;
    }
  }
  TRY(flush());
  out.push_back(0);
  if (out.size() > max_name_wire) return fail(Errc::invalid_input, "DNS name longer than 255 bytes: '" + std::string(name) + "'");
  return out;
}

Result<Message> parse_message(std::span<const uint8_t> wire) {
  if (wire.size() < header_size) return malformed("shorter than a header", wire.size());
  Message m;
  m.id = get16(wire, 0);
  m.flags = get16(wire, 2);
  uint16_t counts[4] = {get16(wire, 4), get16(wire, 6), get16(wire, 8), get16(wire, 10)};
  // Every question takes at least 5 bytes and every record 11: counts that cannot fit are
  // refused before anything is reserved for them.
  if (size_t(counts[0]) * 5 + (size_t(counts[1]) + counts[2] + counts[3]) * 11 > wire.size() - header_size)
    return malformed("section counts larger than the message", 4);
  Reader r(wire);
  r.seek(header_size);
  m.questions.reserve(counts[0]);
  for (uint16_t i = 0; i < counts[0]; ++i) {
    Question q;
    q.name = TRY(r.name());
    q.type = TRY(r.u16("question type"));
    q.klass = TRY(r.u16("question class"));
    m.questions.push_back(std::move(q));
  }
  std::vector<Record>* sections[3] = {&m.answers, &m.authority, &m.additional};
  for (int s = 0; s < 3; ++s) {
    sections[s]->reserve(counts[s + 1]);
    for (uint16_t i = 0; i < counts[s + 1]; ++i) sections[s]->push_back(TRY(read_record(r)));
  }
  if (r.pos() != wire.size()) return malformed("bytes after the last record", r.pos());
  return m;
}

Result<Question> parse_first_question(std::span<const uint8_t> wire) {
  if (wire.size() < header_size) return malformed("shorter than a header", wire.size());
  if (get16(wire, 4) == 0) return malformed("no question", 4);
  Reader r(wire);
  r.seek(header_size);
  Question q;
  q.name = TRY(r.name());
  q.type = TRY(r.u16("question type"));
  q.klass = TRY(r.u16("question class"));
  return q;
}

Result<Bytes> build_message(const Message& m) {
  for (size_t n : {m.questions.size(), m.answers.size(), m.authority.size(), m.additional.size()})
    if (n > 0xFFFF) return fail(Errc::invalid_input, "more than 65535 entries in a DNS section");
  Bytes out;
  out.reserve(512);
  put16(out, m.id);
  put16(out, m.flags);
  for (size_t n : {m.questions.size(), m.answers.size(), m.authority.size(), m.additional.size()}) put16(out, static_cast<uint16_t>(n));
  NameWriter names;
  for (const auto& q : m.questions) {
    TRY(names.write(out, q.name));
    put16(out, q.type);
    put16(out, q.klass);
  }
  for (const auto* section : {&m.answers, &m.authority, &m.additional}) {
    for (const auto& rec : *section) {
      if (rec.data.size() > 0xFFFF) return fail(Errc::invalid_input, "RDATA longer than 65535 bytes");
      TRY(names.write(out, rec.name));
      put16(out, rec.type);
      put16(out, rec.klass);
      put32(out, rec.ttl);
      put16(out, static_cast<uint16_t>(rec.data.size()));
      out.insert(out.end(), rec.data.begin(), rec.data.end());
    }
  }
  return out;
}

}  // namespace tiffin::dns
