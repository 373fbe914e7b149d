// WireGuard's kernel module is configured over generic netlink (family "wireguard",
// linux/wireguard.h): WG_CMD_SET_DEVICE with the device's key, port and nested peers, and a
// WG_CMD_GET_DEVICE dump that may spread one device over several messages. The same settings as
// the UAPI text of wireguard_uapi.hpp, so the engine builds one WgDeviceConfig for either. The
// messages are built and read here without the kernel (unit-tested); wg_genl_set/get talk to it
// from the network namespace the link is in now (a module's link keeps its UDP socket in the
// namespace it was made in, wherever it is moved).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "net/wireguard_uapi.hpp"

namespace tiffin::net {

// One WG_CMD_SET_DEVICE request (NLM_F_REQUEST | NLM_F_ACK) for family `family`, with the
// semantics of uapi_set_request: a fresh device (no `current`) gets its key and port and its
// peers replaced; a live one only its peers, those of `current` that went removed one by one.
// Errc::invalid_input when it would not fit in one message (64 KiB: thousands of allowed IPs).
Result<std::vector<uint8_t>> wg_genl_set_message(
    uint16_t family, uint32_t seq, const std::string& ifname, const WgDeviceConfig& config, const WgDeviceStatus* current);
// The WG_CMD_GET_DEVICE dump's messages (each a whole netlink message) as one device: a peer cut
// at a message's end continues, same key, in the next.
Result<WgDeviceStatus> parse_wg_genl_device(std::span<const std::vector<uint8_t>> messages);

// Talk to the kernel in the namespace at `netns_path` ("" : the calling thread's). Errc::unsupported
// when the kernel has no "wireguard" family (no module).
Result<void> wg_genl_set(
    const std::string& netns_path, const std::string& ifname, const WgDeviceConfig& config, const WgDeviceStatus* current);
Result<WgDeviceStatus> wg_genl_get(const std::string& netns_path, const std::string& ifname);

}  // namespace tiffin::net
