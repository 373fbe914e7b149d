#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 16 and runs each for a bounded time: the first
# argument, else $FUZZ_SECONDS (as scripts/test.sh takes it), else 60 s; seeds are made here.
# Exits non-zero if any target crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-${FUZZ_SECONDS:-60}}"

# -O1 and line tables only, as libFuzzer's documentation suggests: crash reports keep file:line,
# and the build takes about half the time of -O2 -g (CI's hour is shared with everything else).
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DTIFFIN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" >/dev/null
# Quiet when it builds; the compiler's errors when it does not (CI shows nothing else).
build_log="$(mktemp /tmp/tiffin-fuzz-build.XXXXXX)"
if ! ninja -C build-fuzz flist_reader_fuzz tar_import_fuzz layer_apply_fuzz hub_api_fuzz dns_message_fuzz manifest_fuzz api_request_fuzz go_template_fuzz cp_extract_fuzz zos_workload_fuzz flake_inputs_fuzz block_batch_fuzz dockerfile_fuzz shell_lexer_fuzz snapshot_filter_fuzz >"$build_log" 2>&1; then
  grep -E -B2 -A12 'error|FAILED' "$build_log" | head -n 150
  rm -f "$build_log"
  exit 1
fi
rm -f "$build_log"

work="$(mktemp -d /tmp/tiffin-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export TMPDIR="$work"
mkdir -p "$work/batch" "$work/fl" "$work/tar" "$work/layer" "$work/hub" "$work/dns" "$work/manifest" "$work/api" "$work/tmpl" "$work/cp" "$work/zos" "$work/dockerfile" "$work/tree/d" "$work/artifacts"

# Seeds: the rfs-made flists, and small tars of every entry type in every compression.
cp tests/fixtures/rfs/*.fl "$work/fl/"
echo hello > "$work/tree/d/file"
ln -s file "$work/tree/d/link"
ln "$work/tree/d/file" "$work/tree/hard"
mkfifo "$work/tree/fifo"
tar -C "$work/tree" -cf "$work/tar/plain.tar" .
tar -C "$work/tree" -czf "$work/tar/gz.tar.gz" .
tar -C "$work/tree" --zstd -cf "$work/tar/zst.tar.zst" .
tar -C "$work/tree" --format=pax -cf "$work/tar/pax.tar" .

# Layers: whiteouts of a base file and directory, an opaque directory, a hard link to a base file.
mkdir -p "$work/ltree/a" "$work/ltree/n"
touch "$work/ltree/.wh.h" "$work/ltree/a/.wh..wh..opq" "$work/ltree/.wh.l" "$work/ltree/n/x"
tar -C "$work/ltree" -cf "$work/layer/whiteouts.tar" .
tar -C "$work/ltree" -czf "$work/layer/whiteouts.tar.gz" .
cp "$work/tar/plain.tar" "$work/layer/"

# Hub requests: "<method> <target>\n<range>\n<body>", '!' first for a valid token.
id=0000000000000000000000000000000000000000000000000000000000000000
printf 'GET /00/%s\nbytes=0-9\n' "$id" > "$work/hub/block"
printf 'POST /api/blocks/missing\n\n["%s"]' "$id" > "$work/hub/missing"
printf 'GET /api/flist/fuzz\n\n' > "$work/hub/list"
printf 'GET /fuzz/x:v1.fl.md5\n\n' > "$work/hub/md5"
printf '!PUT /blocks/%s\n\nbody' "$id" > "$work/hub/put-block"
printf '!PUT /api/flist/fuzz/x/link\n\n{"target": "fuzz/y:1"}' > "$work/hub/link"
printf '!DELETE /api/flist/fuzz/x:v1\n\n' > "$work/hub/delete"
{ printf '!PUT /api/flist/fuzz/tar\n\n'; cat "$work/tar/plain.tar"; } > "$work/hub/put-tar"
{ printf '!PUT /api/flist/fuzz/fl\n\n'; cat "$(ls tests/fixtures/rfs/*.fl | head -n 1)"; } > "$work/hub/put-flist"
printf 'POST /api/blocks/batch\n\n["%s", "%s"]' "$id" "$id" > "$work/hub/batch"
printf '!POST /api/flist/fuzz/fl:latest/profile\n\n# tiffin prefetch profile v1\n%s\n' "$id" > "$work/hub/profile"
printf 'GET /api/flist/fuzz/fl:latest/profile\n\n' > "$work/hub/get-profile"

# Batch responses (first byte: the piece size): a present frame and a missing one.
python3 - "$work/batch" <<'PY'
import sys
frame = lambda i, status, body: bytes([i]) * 32 + bytes([status]) + len(body).to_bytes(4, "big") + body
open(f"{sys.argv[1]}/two", "wb").write(b"\x07" + frame(1, 0, b"sealed bytes") + frame(2, 1, b""))
PY

# DNS queries and a reply: A for web.tiffin, PTR, a compressed answer.
printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03web\x06tiffin\x00\x00\x01\x00\x01' > "$work/dns/a"
printf '\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x013\x010\x0289\x0210\x07in-addr\x04arpa\x00\x00\x0c\x00\x01' > "$work/dns/ptr"
printf '\x00\x02\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x03web\x00\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x59\x00\x02' > "$work/dns/reply"

# Registry documents: a manifest, an index, an image config, references, a challenge (the first
# byte picks the Content-Type the manifest parser is given).
a=sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
printf '\x01{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":7},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":9,"urls":["http://x/"]}]}' "$a" "$a" > "$work/manifest/manifest"
printf '\x03{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":7,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}' "$a" > "$work/manifest/index"
printf '{"architecture":"amd64","os":"linux","config":{"Env":["A=b"],"Cmd":["sh"],"ExposedPorts":{"80/tcp":{}},"Volumes":{"/d":{}},"Labels":{"a":"b"},"Healthcheck":{"Test":["CMD","true"],"Interval":1,"Retries":2}},"rootfs":{"type":"layers","diff_ids":["%s"]}}' "$a" > "$work/manifest/config"
printf 'localhost:5000/ns/repo:tag@%s' "$a" > "$work/manifest/reference"
printf 'docker://[::1]:5000/a.b__c-d/e' > "$work/manifest/reference6"
printf 'linux/arm/v7' > "$work/manifest/platform"
printf 'Bearer realm="https://a/token",service="s",scope="repository:x:pull", Basic realm="r"' > "$work/manifest/challenge"

# Engine API requests: "<method> <target>\n<body>".
printf 'POST /v1.43/containers/create?name=web\n{"Image":"busybox","Cmd":["sh"],"HostConfig":{"Binds":["/a:/b:ro"],"PortBindings":{"80/tcp":[{"HostPort":"8080"}]},"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":2},"Mounts":[{"Type":"tmpfs","Target":"/t"}]},"NetworkingConfig":{"EndpointsConfig":{"n":{"Aliases":["a"]}}}}' > "$work/api/create"
printf 'GET /v1.47/containers/json?all=1&filters=%%7B%%22label%%22%%3A%%5B%%22a%%3Db%%22%%5D%%7D\n' > "$work/api/list"
printf 'DELETE /images/127.0.0.1:5000/ns/app:1?force=1\n' > "$work/api/rmi"
printf 'GET /v9.99/info\n{"status":{"running":true}}' > "$work/api/version"

# docker --format templates: inspect's and ps's, tables, control structures, printf.
printf '{{.State.Pid}}' > "$work/tmpl/pid"
printf '{{json .Config}} {{index .Config.Labels "com.x"}} {{len .Num}}' > "$work/tmpl/funcs"
printf '{{range $i, $m := .Mounts}}{{$i}}:{{$m.Destination}}{{else}}none{{end}}' > "$work/tmpl/range"
printf '{{if .State.Running}}up{{else if eq .State.ExitCode 0}}ok{{else}}{{.State.Status}}{{end}}' > "$work/tmpl/if"
printf '{{- with $n := .NetworkSettings.Networks -}} {{range $k, $v := $n}}{{$k}}={{$v.IPAddress}}{{end}} {{- end}}' > "$work/tmpl/with"
printf '{{printf "%%-10s|%%5d|%%q|%%v" .Name .State.Pid "x\t" .Config.Cmd}} {{.Label "a" | upper}}' > "$work/tmpl/printf"
printf '{{/* c */}}{{$x := split "a:b" ":"}}{{join $x ","}} {{(index .Num 0) | printf "%%03d"}} {{truncate .Id 12}}' > "$work/tmpl/vars"

# docker cp tars (first byte: the options): the plain tars, and names that try to lead out.
for t in "$work"/tar/plain.tar "$work"/tar/gz.tar.gz; do { printf '\x00'; cat "$t"; } > "$work/cp/$(basename "$t")"; done
python3 - "$work/cp" <<'PY'
import io, sys, tarfile
for i, (name, link) in enumerate([("../x", None), ("escape/tmp/x", None), ("up/x", None), ("dir/abs/x", None), ("a", "/"), ("l", "..")]):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo(name)
        if link:
            info.type, info.linkname = tarfile.SYMTYPE, link
            t.addfile(info)
            info = tarfile.TarInfo(name + "/y")
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    open(f"{sys.argv[1]}/hostile{i}", "wb").write(bytes([i % 8]) + buf.getvalue())
PY

# Zero-OS workloads: every field, explorer forms (enum numbers, RFC 3339, stats_aggregator), a result.
cat > "$work/zos/full" <<'JSON'
{"workload_id": 42, "node_id": "9Gn5hcyKkwq6c5s8ZpBmR9ZbaH2PAUtNmhXJMXrmGSFc", "pool_id": 7, "reference": "r", "customer_tid": 1,
 "workload_type": 1, "epoch": 1600000000, "description": "d", "metadata": "m", "flist": "https://hub.grid.tf/a/b.flist",
 "hub_url": "zdb://hub.grid.tf:9900", "environment": {"B": "2", "A": "1"}, "secret_environment": {"S": "00ff"},
 "entrypoint": "/sbin/zinit init", "interactive": true, "volumes": [{"volume_id": "v-1", "mountpoint": "/data"}],
 "network_connection": [{"network_id": "n", "ipaddress": "2001:db8:0:0:1:0:0:1", "public_ip6": true}],
 "capacity": {"cpu": 2, "memory": 2048, "disk_size": 10240, "disk_type": "hdd"},
 "logs": [{"type": "redis", "data": {"stdout": "redis://l/o", "stderr": "redis://l/e"}}],
 "stats": [{"type": "redis", "data": {"endpoint": "redis://s"}}]}
JSON
printf '{"epoch": "2020-09-13T14:26:40.5+02:00", "capacity": {"disk_type": 0}, "stats_aggregator": [{"type": "redis", "data": {}}], "network_connection": [{"network_id": "6", "ipaddress": "::ffff:10.1.3.5"}]}' > "$work/zos/forms"
printf '{"workload_id": 9, "node_id": "n", "state": "ok", "message": "", "data_json": "{\\"id\\":\\"9-1\\"}", "epoch": 1, "signature": ""}' > "$work/zos/result"

# Flakes: a registration (podman-pilot's example, and a drop-in after a NUL), an agent's request,
# a microVM's frames (a run request, stdout, an exit), a run option.
mkdir -p "$work/flake"
printf '\x00container:\n  name: joe\n  target_app_path: /usr/bin/joe\n  host_app_path: /usr/bin/joe\n  base_container: base\n  layers: [a, b]\n  runtime:\n    runas: root\n    resume: true\n    podman: [--rm, "-e A=b"]\ninclude:\n  tar: [/x.tar]\ntiffin: {image: abc, home: true}\n\0container:\n  runtime:\n    attach: false\n' > "$work/flake/yaml"
printf '\x00vm:\n  name: i\n  host_app_path: /x\n  runtime:\n    firecracker: {mem_size_mib: 256, vcpu_count: 1, kernel_image_path: /k}\ntiffin: {accel: tcg}\n' > "$work/flake/vm"
printf '\x01\x02\0\0\0sh\0-c\0\x01\0\0\0TERM=xterm\0/tmp\0' > "$work/flake/request"
printf '\x02\x05\0\0\0\x10hello\x08\0\0\0\x12\0\0\0\0\x2a\0\0\0' > "$work/flake/frames"
printf '\x03--storage-opt size=10G' > "$work/flake/option"

# Dockerfiles: directives, continuations with comments, heredocs, flags, both forms, ONBUILD, CRLF.
cat > "$work/dockerfile/multi" <<'DOCKERFILE'
# syntax=docker/dockerfile:1
ARG GO=1.22
FROM --platform=$BUILDPLATFORM golang:${GO} AS build
RUN --mount=type=cache,target=/root/.cache \
    # a comment inside
    go build -o /out/app .
COPY --from=build --chown=1:1 --link ["a b", "/c/"]
COPY <<one <<-"two" /dest/
first
one
	second
	two
RUN <<EOF bash
echo $HOME
EOF
ENV A=1 B="two words" C=x\ y
LABEL legacy form with spaces
HEALTHCHECK --interval=30s --retries=3 CMD ["curl", "-f", "http://x/"]
ONBUILD RUN echo hi
FROM scratch as final
SHELL ["/bin/sh", "-c"]
CMD [ "a", ]
DOCKERFILE
printf '# escape=`\r\nFROM windows\r\nRUN dir c:\\ `\r\n  && echo done\r\nADD --checksum=sha256:00 https://x/y c:\\\r\n' > "$work/dockerfile/windows"


# tiffin build's words (first byte: escape and lexer switches; the word; NUL; a .dockerignore).
mkdir -p "$work/words"
printf '\x00${A:-x} ${A##*.} "$B" \x27$S\x27 ${W//\\//:}\0node_modules\n!node_modules/keep\n**/*.log\n# c\n[a-c]?/**/x\n' > "$work/words/plain"
printf '\x01C:\\path`$A ${U%%%%?} ${N#*}\0/a\n!./a/b/\n*.md\n!README*.md\n' > "$work/words/backtick"
printf '\x1e\x27q\x27 \\$A ${X:-$A} ${X/a/$R} ${E:?e}\0**\n!*/\\*\n' > "$work/words/heredoc"

# containerd's filters (tiffin-snapshotter's List), the one containerd sends among them.
mkdir -p "$work/filters"
printf 'labels."containerd.io/snapshot.ref"==sha256:c,parent=="sha256:p"' > "$work/filters/remote"
printf 'name~=/^k8s\\.io/,kind!=view,labels.a.b\0n\np\na.b\nv' > "$work/filters/ops"

status=0
for target in flist_reader_fuzz:fl tar_import_fuzz:tar layer_apply_fuzz:layer hub_api_fuzz:hub dns_message_fuzz:dns manifest_fuzz:manifest api_request_fuzz:api go_template_fuzz:tmpl cp_extract_fuzz:cp zos_workload_fuzz:zos flake_inputs_fuzz:flake block_batch_fuzz:batch dockerfile_fuzz:dockerfile shell_lexer_fuzz:words snapshot_filter_fuzz:filters; do
  name="${target%%:*}"; seeds="$work/${target##*:}"
  echo "fuzz: $name for ${SECONDS_EACH}s"
  if ! "build-fuzz/fuzz/$name" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$work/artifacts/$name-" "$seeds" >"$work/$name.log" 2>&1; then
    echo "fuzz: $name FAILED"; tail -40 "$work/$name.log"; status=1
    mkdir -p fuzz-artifacts && cp "$work"/artifacts/* fuzz-artifacts/ 2>/dev/null || true
  else
    grep -E "stat::number_of_executed_units|cov:" "$work/$name.log" | tail -2
  fi
done
exit $status
