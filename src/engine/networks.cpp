// The node's networks: create (the bridge and its rules at once, as docker does), list, remove,
// prune; joining and leaving a container's; and bringing it all back after a reboot.
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "dns/resolver_control.hpp"
#include "engine/engine.hpp"
#include "net/ipam.hpp"
#include "net/netlink.hpp"
#include "net/netns.hpp"
#include "shim/restart_policy.hpp"

namespace tiffin::engine {

Result<Network> Engine::create_network(const NetworkSpec& spec) {
  if (spec.driver == "zos")
    return fail(Errc::invalid_input, "a zos network needs its WireGuard keys and peers: tiffin network create --driver zos (or --config)");
  NetworkStore store(db_);
  Network n = TRY(store.create(spec, net::host_routes_v4()));
  auto made = [&]() -> Result<void> {
    TRY(ensure_bridge(n));
    return sync_firewall();
  }();
  if (!made) {
    (void)remove_network(n.id);
    return std::unexpected(std::move(made).error().context("creating network " + n.name));
  }
  record_event({"network", "create", n.id, {{"name", n.name}, {"type", "bridge"}}});
  return n;
}

Result<std::vector<Network>> Engine::networks() { return NetworkStore(db_).list(); }

Result<Network> Engine::network(const std::string& ref) {
  NetworkStore store(db_);
  if (ref == "bridge" || ref == kDefaultNetwork) return store.ensure_default(net::host_routes_v4);
  return store.find(ref);
}

Result<std::vector<Endpoint>> Engine::endpoints_on(const Network& n) { return NetworkStore(db_).endpoints_on(n.id); }

Result<void> Engine::remove_network(const std::string& ref) {
  TRY(collect_network_garbage());
  NetworkStore store(db_);
  Network n = TRY(store.find(ref));
  std::optional<ZosNetworkRecord> zos;
  if (n.driver == "zos") {
    auto z = ZosNetworkStore(db_).get(n.id);
    if (z) zos = *z;  // a create that failed before its record: only the bridge to remove
  }
  TRY(store.remove(n.id));
  // The kernel's part after the record: a failure here leaves a bridge the next create of the
  // same name would reuse, never a record without its bridge.
  if (zos) TRY(remove_zos_resource(*zos));
  auto host = TRY(net::Netlink::open());
  TRY(host.delete_link(n.bridge));
  ::unlink((opts_.run_root + "/firewall/" + n.id).c_str());
  TRY(dns::remove_network_file(dns_dir(), n.name));
  record_event({"network", "destroy", n.id, {{"name", n.name}, {"type", n.driver}}});
  return sync_firewall();
}

Result<std::vector<std::string>> Engine::prune_networks() {
  TRY(collect_network_garbage());
  std::vector<std::string> out;
  NetworkStore store(db_);
  for (const auto& n : TRY(store.list())) {
    if (n.name == kDefaultNetwork || !TRY(store.endpoints_on(n.id)).empty()) continue;
    TRY(remove_network(n.id));
    out.push_back(n.name);
  }
  return out;
}

Result<Endpoint> Engine::connect(const std::string& container_ref, const EndpointRequest& r) {
  std::string id = TRY(resolve_container(container_ref));
  ContainerInfo info = TRY(load_container(id));
  if (network_mode(info.config) != NetworkMode::bridge)
    return fail(Errc::invalid_input,
        "container " + info.name + " has --network " + info.config.network + "; only containers on bridge networks join more");
  NetworkStore store(db_);
  Endpoint e = TRY(store.attach(id, r));
  if (net::netns_mounted(netns_path(id))) {
    auto joined = join_network(id, e, false);
    if (!joined) {
      (void)store.detach(id, e.network_id);
      return std::unexpected(joined.error());
    }
  }
  TRY(sync_dns_of({e}));
  record_event({"network", "connect", e.network_id, {{"container", id}, {"name", r.network}, {"type", "bridge"}}});
  return e;
}

Result<void> Engine::disconnect(const std::string& container_ref, const std::string& network_ref) {
  std::string id = TRY(resolve_container(container_ref));
  NetworkStore store(db_);
  Network n = TRY(store.find(network_ref));
  Endpoint held;
  bool found = false;
  for (const auto& e : TRY(store.endpoints(id)))
    if (e.network_id == n.id) held = e, found = true;
  if (!found) return fail(Errc::not_found, "container " + container_ref + " is not on network " + n.name);
  TRY(store.detach(id, n.id));
  auto host = TRY(net::Netlink::open());
  TRY(host.delete_link(held.host_ifname));  // and its peer inside the container
  record_event({"network", "disconnect", n.id, {{"container", id}, {"name", n.name}, {"type", "bridge"}}});
  return sync_dns(n);
}

Result<std::vector<std::string>> Engine::boot() {
  std::vector<std::string> done;
  TRY(collect_network_garbage());
  NetworkStore store(db_);
  // One network that cannot be made (wireguard-go missing, a peer's bad record) must not keep the
  // others, the firewall and the containers down: it is reported and boot goes on.
  for (const auto& n : TRY(store.list())) {
    auto made = ensure_bridge(n);
    done.push_back("network " + n.name + (made ? ": bridge " + n.bridge + " up" : ": not made: " + made.error().message));
  }
  TRY(sync_firewall());
  done.push_back("nftables: table inet tiffin written");
  for (const auto& n : TRY(store.list()))
    if (!TRY(store.endpoints_on(n.id)).empty()) TRY(sync_dns(n));
  for (const auto& c : TRY(list({true, {}}))) {
    auto policy = shim::parse_restart_policy(c.config.restart);
    if (!policy || is_active(c.state.status)) continue;
    const std::string& r = c.config.restart;
    // unless-stopped: started when it was running when the node went down (its shim's last
    // record says so; a user's stop would have recorded exited).
    bool was_running = false;
    if (auto text = read_file(container_dir(c.id) + "/status", 1 << 16))
      if (auto s = shim::decode_status(std::string_view(reinterpret_cast<const char*>(text->data()), text->size())))
        was_running =
            s->status == ContainerStatus::running || s->status == ContainerStatus::paused || s->status == ContainerStatus::restarting;
    bool wanted = r == "always" || r == "zos" || (r == "unless-stopped" && was_running);
    if (!wanted) continue;
    auto started = start(c.id);
    done.push_back("container " + c.name + (started ? ": started" : ": not started: " + started.error().message));
  }
  return done;
}

}  // namespace tiffin::engine
