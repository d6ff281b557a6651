#!/usr/bin/env bash
# The wgpu half of the GPU check (issue #11): burn's Vulkan backend on a lent GPU's own
# Vulkan driver, against the CPU. A call of its own, right after scripts/device-check.sh
# while the machine is still warm: that script's cuda payload leaves no room under the
# 64 MiB carry limit for a second binary.
#
#   bash scripts/device-check-wgpu.sh --prepare   here: .device/wgpu/ and .gl/ (see below)
#   bash scripts/device-check-wgpu.sh             on the device, carry [".device/wgpu", ".gl"]
#   bash scripts/device-check-wgpu.sh --dry-run   here, on Mesa's lavapipe, tiny sizes
#
# Steps, each with its own time limit; their output lands in $OUT even when one fails:
#   1. fer devices --json                                   -> wgpu-devices.json
#   2. parity: fer bench --parity on the bundled sample, no augmentation, the same
#      initial weights, on wgpu and on cpu; every step's loss within 1% relative
#                                                           -> wgpu-parity.json
#   3. tests/wgpu.rs, the in-process tests (gradients of every parameter, each kind of
#      convolution, the device split, augmentation, TenCrop evaluation) on that adapter;
#      the tests that start the fer binary are skipped (its build path is not there)
#                                                           -> wgpu-tests.txt
#   4. speed: fer bench on wgpu, resnet20 batch 64 and resnet18 batch 128
#                                                           -> wgpu-speed.json
#   wgpu-results.json says what passed; wgpu-check.log has every command's output.
#
# The payload (git-ignored through .git/info/exclude):
#   .device/wgpu/fer.xz    release binary built with --features wgpu, stripped, xz
#   .device/wgpu/tests.xz  the tests/wgpu.rs test binary, stripped, xz
#   .gl/*.deb              the Vulkan loader (libvulkan1), as the device README says:
#                          the lent machine has NVIDIA's driver but may lack the loader
# Sizes from `--prepare` on 2026-12-01: fer.xz 11,196,180 B, tests.xz 9,693,640 B,
# libvulkan1 116,232 B.
# If no adapter answers, VK_DRIVER_FILES is pointed at NVIDIA's ICD file and fer asked
# again.

set -u

MODE=device
case "${1:-}" in
    --prepare) MODE=prepare ;;
    --dry-run) MODE=dry ;;
    "") ;;
    *) echo "usage: $0 [--prepare | --dry-run]" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PAYLOAD="$ROOT/.device/wgpu"
NVIDIA_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
# The tests that need target/release/fer at the path it was built at.
SKIPPED=(--skip a_whole_run --skip fer_devices --skip auto_passes)

prepare() {
    set -e
    cd "$ROOT"
    for ignored in /.device/ /.gl/; do
        grep -qx "$ignored" .git/info/exclude 2>/dev/null || echo "$ignored" >> .git/info/exclude
    done
    mkdir -p "$PAYLOAD" .gl
    echo "== building fer and the wgpu tests with --features wgpu"
    nice cargo test --release --features wgpu --test wgpu --no-run 2> "$PAYLOAD/build.log"
    local tests
    tests=$(grep -o 'target/release/deps/wgpu-[0-9a-f]*' "$PAYLOAD/build.log" | tail -1)
    [ -n "$tests" ] || { echo "no test binary in $PAYLOAD/build.log" >&2; exit 1; }
    strip -o "$PAYLOAD/fer" target/release/fer
    strip -o "$PAYLOAD/tests" "$tests"
    xz -T1 --x86 --lzma2=preset=9e -f "$PAYLOAD/fer" "$PAYLOAD/tests"
    echo "== the Vulkan loader"
    local apt_options=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
    mkdir -p /tmp/amd64/partial
    apt-get "${apt_options[@]}" update > /dev/null
    (cd .gl && apt-get "${apt_options[@]}" download libvulkan1)
    du -b "$PAYLOAD"/*.xz .gl/*.deb
    echo "ready: run \`bash scripts/device-check-wgpu.sh\` on the device with carry [\".device/wgpu\", \".gl\"] (not .device: the cuda payload is there too)"
}

if [ "$MODE" = prepare ]; then
    prepare
    exit $?
fi

OUT=${OUT:-$ROOT/device-check-out}
mkdir -p "$OUT"
LOG="$OUT/wgpu-check.log"
: > "$LOG"
WORK=$(mktemp -d /tmp/fer-wgpu-check.XXXXXX)
START=$SECONDS
RESULTS=()

log() { echo "[$((SECONDS - START))s] $*" | tee -a "$LOG"; }
record() { RESULTS+=("\"$1\": $2"); }

# Runs "$@" with a time limit, stdout to $1, stderr and a copy into the log.
run_step() {
    local out=$1 limit=$2
    shift 2
    log "\$ $*"
    timeout --kill-after=10 "$limit" "$@" > "$out" 2>> "$LOG"
    local status=$?
    cat "$out" >> "$LOG"
    log "exit $status"
    return $status
}

usable_adapters() {
    python3 -c 'import json, sys
report = json.load(open(sys.argv[1]))
wgpu = [b for b in report["backends"] if b["name"] == "wgpu"][0]
print(sum(1 for d in wgpu["devices"] if d["usable"]))' "$1" 2>/dev/null || echo 0
}

if [ "$MODE" = dry ]; then
    FER=$ROOT/target/release/fer
    TESTS=$(ls -t "$ROOT"/target/release/deps/wgpu-* 2>/dev/null | grep -v '\.d$' | head -1)
    DEVICE=wgpu:0
    PARITY=(--model resnet8 --batch 16 --steps 3)
    SPEEDS=("--model resnet8 --batch 16 --steps 2 --warmup 1")
else
    log "unpacking the payload"
    FER="$WORK/fer" TESTS="$WORK/tests"
    # Python's lzma where xz is missing.
    python3 -c 'import lzma, shutil, sys
for source, target in zip(sys.argv[1::2], sys.argv[2::2]):
    shutil.copyfileobj(lzma.open(source), open(target, "wb"))' \
        "$PAYLOAD/fer.xz" "$FER" "$PAYLOAD/tests.xz" "$TESTS" || log "no payload in $PAYLOAD"
    chmod +x "$FER" "$TESTS"
    if ! ldconfig -p | grep -q libvulkan.so.1; then
        log "no Vulkan loader: unpacking .gl/"
        for deb in "$ROOT"/.gl/*.deb; do dpkg -x "$deb" /; done
        ldconfig
    fi
    nvidia-smi >> "$LOG" 2>&1
    DEVICE=wgpu
    PARITY=(--model resnet20 --batch 64 --steps 20)
    SPEEDS=("--model resnet20 --batch 64 --steps 30 --warmup 5" "--model resnet18 --batch 128 --steps 30 --warmup 5")
fi

# 1. devices
run_step "$OUT/wgpu-devices.json" 120 "$FER" devices --json
if [ "$(usable_adapters "$OUT/wgpu-devices.json")" = 0 ] && [ -f "$NVIDIA_ICD" ]; then
    export VK_DRIVER_FILES=$NVIDIA_ICD
    log "no usable adapter: VK_DRIVER_FILES=$VK_DRIVER_FILES"
    run_step "$OUT/wgpu-devices.json" 120 "$FER" devices --json
fi
record usable_adapters "$(usable_adapters "$OUT/wgpu-devices.json")"

# 2. parity against the CPU
for device in "$DEVICE" cpu; do
    run_step "$WORK/parity-$device.json" 240 "$FER" bench --parity --no-augment "${PARITY[@]}" --device "$device"
done
python3 - "$WORK/parity-$DEVICE.json" "$WORK/parity-cpu.json" > "$OUT/wgpu-parity.json" <<'PY'
import json, sys
gpu, cpu = (json.load(open(path)) for path in sys.argv[1:3])
worst = max(abs(g - c) / abs(c) for g, c in zip(gpu["losses"], cpu["losses"]))
print(json.dumps({"wgpu": gpu, "cpu": cpu, "worst_relative": worst, "passed": worst < 0.01}))
PY
record parity "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["passed"]))' "$OUT/wgpu-parity.json" 2>/dev/null || echo false)"

# 3. the in-process tests on this adapter
passed=false
CI=true run_step "$OUT/wgpu-tests.txt" 300 "$TESTS" --test-threads 1 "${SKIPPED[@]}" && passed=true
record tests "$passed"

# 4. speed
: > "$OUT/wgpu-speed.json"
for args in "${SPEEDS[@]}"; do
    # shellcheck disable=SC2086 # each entry is a list of flags
    run_step "$WORK/speed.json" 240 "$FER" bench $args --device "$DEVICE" && cat "$WORK/speed.json" >> "$OUT/wgpu-speed.json"
done

(IFS=,; echo "{${RESULTS[*]}}") > "$OUT/wgpu-results.json"
log "results: $(cat "$OUT/wgpu-results.json")"
