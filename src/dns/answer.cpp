#include "dns/answer.hpp"

namespace tiffin::dns {

namespace {

uint16_t reply_flags(uint16_t query_flags, uint8_t rcode, bool authoritative) {
  uint16_t f = flag::qr | flag::ra | (query_flags & (0x7800 | flag::rd)) | rcode;
  return authoritative ? f | flag::aa : f;
}

Decision reply(Message m, size_t max_size) {
  for (;;) {
    auto wire = build_message(m);
    // Names in a reply come from the query (parsed, so encodable) or from validated records.
    if (!wire) return {};
    if (wire->size() <= max_size || m.answers.empty()) return {Decision::Kind::reply, std::move(*wire)};
    m.answers.pop_back();
    m.flags |= flag::tc;
  }
}

Record address_record(const std::string& name, const net::IpAddress& a) {
  return {name, a.is_v4() ? type::A : type::AAAA, class_in, local_ttl, Bytes(a.bytes(), a.bytes() + a.size())};
}

}  // namespace

Bytes error_reply(std::span<const uint8_t> query, uint8_t rcode) {
  if (query.size() < header_size) return {};
  Message m;
  m.id = static_cast<uint16_t>(query[0] << 8 | query[1]);
  uint16_t flags = static_cast<uint16_t>(query[2] << 8 | query[3]);
  m.flags = reply_flags(flags, rcode, false);
  if (auto parsed = parse_message(query); parsed && parsed->questions.size() == 1) m.questions = parsed->questions;
  auto wire = build_message(m);
  return wire ? std::move(*wire) : Bytes{};
}

Decision decide(const Zone& zone, std::span<const uint8_t> query, size_t max_size, bool have_upstreams, uint32_t rotation) {
  if (query.size() < header_size || (query[2] & 0x80)) return {};
  auto parsed = parse_message(query);
  if (!parsed) return {Decision::Kind::reply, error_reply(query, rcode::formerr)};
  const Message& q = *parsed;
  if (opcode_of(q.flags) != 0) return {Decision::Kind::reply, error_reply(query, rcode::notimp)};
  if (q.questions.size() != 1) return {Decision::Kind::reply, error_reply(query, rcode::formerr)};
  const Question& question = q.questions[0];

  Message r;
  r.id = q.id;
  r.questions = q.questions;
  if (question.klass == class_in || question.klass == class_any) {
    if (const auto* addrs = zone.find(question.name)) {
      r.flags = reply_flags(q.flags, rcode::noerror, true);
      for (size_t i = 0; i < addrs->size(); ++i) {
        const auto& a = (*addrs)[(i + rotation) % addrs->size()];
        bool wanted = question.type == type::ANY || (a.is_v4() ? question.type == type::A : question.type == type::AAAA);
        if (wanted) r.answers.push_back(address_record(question.name, a));
      }
      return reply(std::move(r), max_size);
    }
    if (question.type == type::PTR || question.type == type::ANY) {
      if (auto addr = parse_reverse_name(question.name)) {
        auto names = zone.names_of(*addr);
        if (!names.empty()) {
          r.flags = reply_flags(q.flags, rcode::noerror, true);
          for (const auto& n : names) {
            auto rdata = encode_name(n);
            if (rdata) r.answers.push_back({question.name, type::PTR, class_in, local_ttl, std::move(*rdata)});
          }
          return reply(std::move(r), max_size);
        }
      }
    }
    if (zone.owns(question.name)) {
      r.flags = reply_flags(q.flags, rcode::nxdomain, true);
      return reply(std::move(r), max_size);
    }
  }
  if (!have_upstreams) return {Decision::Kind::reply, error_reply(query, rcode::servfail)};
  return {Decision::Kind::forward, {}};
}

}  // namespace tiffin::dns
