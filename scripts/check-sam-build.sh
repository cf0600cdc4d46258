#!/usr/bin/env bash
# Builds the functions as a deployment does, `sam build` (BuildMethod: makefile, in
# source), and checks that each function's bootstrap is an ELF binary for the
# architecture the template gives that function. A template whose `Architecture`
# parameter says arm64 while the Makefile builds x86_64 (or the reverse) fails here,
# not as a deployment whose functions cannot start.
#
#   scripts/check-sam-build.sh                         # release binaries, as `sam build`
#   PROFILE=dev SELECT="--workspace --all-targets" scripts/check-sam-build.sh
#                                                      # CI: on the test build
#   scripts/check-sam-build.sh --parameter-overrides Architecture=arm64
#                                                      # check another architecture
set -euo pipefail
cd "$(dirname "$0")/.."

for t in sam cfn; do
  [ -x ".tools/$t/bin/python" ] || { echo "missing .tools/$t: run scripts/setup-tools.sh" >&2; exit 1; }
done
build_dir=${CARGO_TARGET_DIR:-target}/sam-build
overrides=()
if [ "${1:-}" = "--parameter-overrides" ]; then
  overrides=(--parameter-overrides "$2")
fi

SAM_CLI_TELEMETRY=0 .tools/sam/bin/sam build --build-in-source --template template.yaml \
  --build-dir "$build_dir" "${overrides[@]}" 2>&1 | grep -v "Feature Toggle Config"

# Each function's architecture, from the translated template (Globals applied), its
# parameter references resolved with the defaults or the overrides given above.
expected=$(.tools/cfn/bin/python - "${overrides[1]:-}" <<'PY'
import json, os, subprocess, sys
overrides = dict(kv.split("=", 1) for kv in sys.argv[1].split() if "=" in kv)
out = subprocess.run([".tools/cfn/bin/python", "scripts/sam_translate.py", "template.yaml"],
                     check=True, capture_output=True, text=True).stdout
t = json.loads(out)
params = {k: overrides.get(k, v.get("Default")) for k, v in t.get("Parameters", {}).items()}
for name, r in t["Resources"].items():
    if r["Type"] != "AWS::Lambda::Function":
        continue
    archs = r["Properties"].get("Architectures", ["x86_64"])
    archs = [params[a["Ref"]] if isinstance(a, dict) else a for a in archs]
    print(name, archs[0])
PY
)

status=0
while read -r function arch; do
  bootstrap="$build_dir/$function/bootstrap"
  if [ ! -f "$bootstrap" ]; then
    echo "error: sam build made no $bootstrap" >&2
    status=1
    continue
  fi
  machine=$(readelf -h "$bootstrap" | sed -n 's/^ *Machine: *//p')
  case "$arch:$machine" in
    x86_64:*X86-64*|arm64:AArch64) echo "ok: $function is $arch ($machine)" ;;
    *)
      echo "error: $function is deployed as $arch but $bootstrap is built for $machine; build with 'make lambda ARCH=$arch' (see README, Deploying)" >&2
      status=1
      ;;
  esac
done <<<"$expected"
[ -n "$expected" ] || { echo "error: no functions found in template.yaml" >&2; exit 1; }
exit "$status"
