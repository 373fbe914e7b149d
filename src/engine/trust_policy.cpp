// Reading the trust policy and deciding over signature checks: what every process that
// creates a container links, the lean tiffin included (no libsodium here: trust_policy.hpp).
#include "engine/trust_policy.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/hex.hpp"

namespace tiffin::engine {

using json = nlohmann::json;

namespace {

// What a refusal says after the flist's name: why, and what would make it pass.
std::unexpected<Error> refused(const std::string& name, const std::string& why) {
  return std::unexpected(Error{Errc::denied, EPERM, "refusing " + name + ": " + why});
}

constexpr const char* kOnlySigned = "this node runs only flists signed by a publisher it trusts (tiffin node trust)";

bool is_key_hex(const std::string& s) { return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos; }

}  // namespace

Result<TrustPolicy> TrustPolicy::load(const std::string& root) {
  TrustPolicy p;
  p.root_ = root;
  std::string path = file_for(root);
  auto data = read_file(path, 1 << 20);
  if (!data) {
    if (data.error().sys_errno == ENOENT) return p;  // no file: the default policy
    return std::unexpected(std::move(data).error().context("reading the trust policy"));
  }
  json doc = json::parse(data->begin(), data->end(), nullptr, false);
  auto bad = [&](const std::string& why) { return fail(Errc::corrupt, path + ": " + why + " (fix or remove the file)"); };
  if (!doc.is_object()) return bad("not a JSON object");
  // Keys this version does not know are left alone: a newer tiffin may have written them.
  if (auto it = doc.find("require_signed"); it != doc.end()) {
    if (!it->is_boolean()) return bad("\"require_signed\" must be true or false");
    p.require_signed_ = it->get<bool>();
  }
  if (auto it = doc.find("keys"); it != doc.end()) {
    if (!it->is_array()) return bad("\"keys\" must be a list of hex public keys");
    for (const auto& k : *it) {
      // As add_key wrote them; anything else was not written by tiffin.
      if (!k.is_string() || !is_key_hex(k.get<std::string>())) return bad("\"keys\" must be a list of 64-character hex public keys");
      p.keys_.push_back(k.get<std::string>());
    }
  }
  std::sort(p.keys_.begin(), p.keys_.end());
  p.keys_.erase(std::unique(p.keys_.begin(), p.keys_.end()), p.keys_.end());
  return p;
}

bool TrustPolicy::trusts(std::string_view key_hex) const { return std::binary_search(keys_.begin(), keys_.end(), key_hex); }

Result<std::string> TrustPolicy::check_signatures(const std::vector<SignatureCheck>& checks, const std::string& name) const {
  if (!require_signed_) return std::string();
  if (checks.empty()) return refused(name, std::string("unsigned, and ") + kOnlySigned);
  for (const auto& c : checks)
    if (c.valid && trusts(to_hex(c.public_key))) return to_hex(c.public_key);
  // A trusted publisher's signature that no longer matches says more than someone else's
  // valid one: the content was changed after that publisher signed it.
  for (const auto& c : checks)
    if (!c.valid && trusts(to_hex(c.public_key)))
      return refused(name, "the signature by " + to_hex(c.public_key) + " does not match its content");
  for (const auto& c : checks)
    if (c.valid) return refused(name, "signed by " + to_hex(c.public_key) + ", which this node does not trust (tiffin node trust add)");
  return refused(name, "the signature by " + to_hex(checks.front().public_key) + " does not match its content");
}

Result<void> TrustPolicy::check_unsigned_source(const std::string& what) const {
  if (!require_signed_) return {};
  return refused(what, std::string("an image made from it on this node carries no publisher signature, and ") + kOnlySigned);
}

FlistSigner flist_signer(const std::vector<SignatureCheck>& checks, const std::vector<std::string>& trusted) {
  FlistSigner out;
  for (const auto& c : checks) {
    if (!c.valid) continue;
    std::string hex = to_hex(c.public_key);
    if (std::binary_search(trusted.begin(), trusted.end(), hex)) return {hex, true};
    if (out.key.empty()) out.key = hex;
  }
  return out;
}

}  // namespace tiffin::engine
