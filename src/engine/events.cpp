// The engine's part of the node's event log: docker's attributes on what it records.
#include "engine/engine.hpp"

namespace tiffin::engine {

void Engine::record_event(Event e) const { (void)EventLog(events_path()).append(std::move(e)); }

void Engine::record_container_event(const ContainerInfo& c, const std::string& action, std::map<std::string, std::string> extra) const {
  // As docker: the labels first, then its own keys over them.
  std::map<std::string, std::string> attrs = c.config.labels;
  attrs["name"] = c.name;
  attrs["image"] = c.image;
  for (auto& [k, v] : extra) attrs[k] = std::move(v);
  record_event({"container", action, c.id, std::move(attrs)});
}

void Engine::record_container_event(const std::string& id, const std::string& action, std::map<std::string, std::string> extra) {
  if (auto c = load_container(id)) record_container_event(*c, action, std::move(extra));
  else record_event({"container", action, id, std::move(extra)});
}

}  // namespace tiffin::engine
