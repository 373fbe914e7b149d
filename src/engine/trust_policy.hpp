// The node's trust policy for flists: which publishers' keys it trusts and whether it runs
// only flists they signed (flist/signature.hpp: ed25519 over the flist's content digest).
//
// Why a file of its own, <root>/trust.json, and not the state database: every process that
// fetches, mounts or creates from an flist reads it (the lean tiffin, tiffin-full's pulls and
// mounts, `tiffin serve`), and with the policy off that must cost one failed open(2), not an
// SQLite connection. It is small ({"require_signed": bool, "keys": [hex, …]}), written whole
// with write_file_atomic under a lock (<root>/trust.lock), so two CLIs changing it never lose
// each other's change and readers never see half a file. A trust.json that cannot be read is
// an error, never "no policy": a node that asked for signed flists fails closed.
//
// With require-signed, an flist is accepted when at least one of its signatures is valid and
// made by a trusted key. What is refused is Errc::denied, the flist named and the reason:
// "unsigned", "signed by <key>, which this node does not trust", "the signature by <key> does
// not match its content". Where the engine asks: engine.hpp (trust_policy).
//
// Three files, so that the lean tiffin links no libsodium (its start time; tests/
// check_lean_binary.sh): trust_policy.cpp reads the policy and decides over signature checks
// made elsewhere (a stored image's recorded ones: Engine::image_signatures);
// trust_policy_edit.cpp changes it (a key is checked to be a point of the curve);
// trust_verify.cpp loads and verifies flists (tiffin-full's processes: pulls, mounts).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "flist/signature.hpp"

namespace tiffin::engine {

class TrustPolicy {
 public:
  static std::string file_for(const std::string& root) { return root + "/trust.json"; }

  // The policy under an engine's --root; a missing file is the default (any flist, no keys).
  static Result<TrustPolicy> load(const std::string& root);

  bool require_signed() const { return require_signed_; }
  // Trusted publisher keys: 64 lowercase hex characters each, sorted.
  const std::vector<std::string>& keys() const { return keys_; }
  bool trusts(std::string_view key_hex) const;

  // Whether an flist with these signatures (flist/signature.hpp verify()) may be used: with
  // require-signed, the trusted key whose valid signature it carries, else Errc::denied naming
  // it as `name`; without, "".
  Result<std::string> check_signatures(const std::vector<SignatureCheck>& checks, const std::string& name) const;
  // An image this node would make itself from something that is not an flist (a registry
  // image converted, a directory or tar packed, an archive loaded) carries no publisher
  // signature: with require-signed it is refused before anything is downloaded or packed.
  Result<void> check_unsigned_source(const std::string& what) const;

  // trust_verify.cpp: check_signatures on the flist at `path`, which is loaded and verified
  // only with require-signed (without, the file is not even opened). `name` defaults to the path.
  Result<std::string> check_flist(const std::string& path, const std::string& name = {}) const;

  // trust_policy_edit.cpp. Each change re-reads the file under the lock, applies itself and
  // writes the file. A key is an ed25519 public key as `tiffin flist keygen` writes it in
  // <path>.pub (normalize_publisher_key). Returns the key as stored; adding a trusted key again
  // changes nothing.
  Result<std::string> add_key(const std::string& key);
  // Errc::not_found when the key is not trusted.
  Result<void> remove_key(const std::string& key);
  Result<void> set_require_signed(bool on);

 private:
  TrustPolicy() = default;
  Result<void> modify(const std::function<Result<void>(TrustPolicy&)>& change);

  std::string root_;
  bool require_signed_ = false;
  std::vector<std::string> keys_;
};

// The publisher to show for an flist with these signatures: the key of a valid one, one of
// `trusted` (sorted, as TrustPolicy::keys) first; "" when none is valid.
struct FlistSigner {
  std::string key;
  bool trusted = false;
};
FlistSigner flist_signer(const std::vector<SignatureCheck>& checks, const std::vector<std::string>& trusted);

// trust_policy_edit.cpp: a key as add_key stores it ("  ABC…\n" → "abc…"), or
// Errc::invalid_input saying why not: 64 hex characters (case and surrounding white space do
// not matter) of a point in the curve's main subgroup (small-order points "verify" signatures
// nobody holds a secret for).
Result<std::string> normalize_publisher_key(const std::string& key);

// trust_verify.cpp: the flist at `path` loaded (load_flist) and its signatures verified.
Result<std::vector<SignatureCheck>> verify_flist(const std::string& path);

}  // namespace tiffin::engine
