// Flists loaded and their signatures verified for the trust policy: tiffin-full's processes
// (pulls and imports, mounts, the engine's verifier set by set_flist_verifier). Apart from
// trust_policy.cpp so that the lean tiffin links neither the flist reader nor libsodium.
#include "engine/trust_policy.hpp"
#include "flist/flist_file.hpp"

namespace tiffin::engine {

Result<std::vector<SignatureCheck>> verify_flist(const std::string& path) {
  Tree tree = TRY_CTX(load_flist(path), "reading " + path);
  return verify(tree);
}

Result<std::string> TrustPolicy::check_flist(const std::string& path, const std::string& name) const {
  if (!require_signed_) return std::string();
  std::string shown = name.empty() ? path : name;
  auto checks = TRY_CTX(verify_flist(path), "checking the signatures of " + shown);
  return check_signatures(checks, shown);
}

}  // namespace tiffin::engine
