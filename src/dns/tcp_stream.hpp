// DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each message preceded by its length as two bytes.
// Helpers for the resolver's non-blocking streams, to clients and to upstreams alike.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "common/hex.hpp"  // Bytes

namespace tiffin::dns {

// Appends `message` with its length in front.
void append_frame(Bytes& out, std::span<const uint8_t> message);

// The size (2 + length) of the first frame in `buffered` when all of it is there, else nullopt.
std::optional<size_t> complete_frame(std::span<const uint8_t> buffered);

// Reads what a non-blocking socket has into `into`, stopping once `into` holds `limit` bytes.
enum class ReadStatus { open, closed };  // closed: end of stream or an error other than EAGAIN
ReadStatus read_available(int fd, Bytes& into, size_t limit);

}  // namespace tiffin::dns
