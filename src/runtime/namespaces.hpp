// Linux namespaces as the OCI spec names them, and the order a process must enter them in.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/spec.hpp"

namespace tiffin::runtime {

// CLONE_NEW* for an OCI namespace type ("pid", "network", …); 0 for an unknown type.
int namespace_flag(const std::string& type);
// The name of the /proc/<pid>/ns/ entry for a type ("network" → "net").
std::string namespace_proc_name(const std::string& type);

// A namespace to join: its type and an open fd (from a path or /proc/<pid>/ns/…).
struct NamespaceToJoin {
  std::string type;
  UniqueFd fd;
  std::string path;  // for messages
};

// Opens every namespace of `spec` that names a path, user first (joining the user namespace
// first gives the caller the rights to join the others).
Result<std::vector<NamespaceToJoin>> open_spec_namespaces(const std::vector<Namespace>& namespaces);
// Opens the namespaces of a running process of the types listed, user first, for exec.
Result<std::vector<NamespaceToJoin>> open_process_namespaces(pid_t pid, const std::vector<Namespace>& namespaces);

// setns() into each one whose type is in `types` (all when empty).
Result<void> join_namespaces(const std::vector<NamespaceToJoin>& list, const std::vector<std::string>& types = {});

// The CLONE_NEW* flags of the namespaces the spec creates anew (those without a path).
int namespaces_to_create(const std::vector<Namespace>& namespaces);

}  // namespace tiffin::runtime
