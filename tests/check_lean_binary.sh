#!/bin/sh
# Fails when the lean `tiffin` binary needs a shared library outside the allowlist. A NEEDED
# entry appears only when code reached from `tiffin` calls into the library (--as-needed), so a
# new one means the node's verbs grew a dependency they should not have (put it in tiffin-full).
set -eu
binary="$1"
allowed="libsqlite3 libcap libseccomp libmnl libm libc ld-linux-x86-64"
# Sanitizer builds add their runtimes, and link the C++ library dynamically.
allowed="$allowed libasan libubsan libstdc++ libgcc_s"
status=0
for lib in $(readelf -d "$binary" | sed -n 's/.*Shared library: \[\([^]]*\)\].*/\1/p'); do
  name="${lib%%.so*}"
  case " $allowed " in
    *" $name "*) ;;
    *) echo "$binary needs $lib, which is not in the lean allowlist ($allowed)"; status=1 ;;
  esac
done
exit $status
