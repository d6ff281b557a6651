#!/usr/bin/env bash
# The GPU check of issue #4 ("burn-cuda verified end to end") in one device call.
#
#   bash scripts/device-check.sh --prepare       here: build the payload into .device/
#   bash scripts/device-check.sh                 on the GPU machine (repo root, $OUT set)
#   bash scripts/device-check.sh --cpu-dry-run   here: the same steps on the CPU, tiny sizes
#
# Steps, each with its own time limit; each one's output lands in $OUT even if it fails:
#   1. fer devices                   -> devices.json
#   2. parity: 20 steps of resnet20 on real rows, augmentation off, the same initial
#      weights, on cuda and on cpu; per-step losses must agree within 1% relative
#                                    -> parity.json
#   3. speed: fer bench resnet18 batch 128 (with --profile phases) next to
#      pytorch_reference.py speed, fp32 and --amp --channels-last
#                                    -> speed.json
#   4. fer train resnet18 --minutes M --tta tencrop --headless on the carried data, M
#      chosen so that the whole call ends inside its limit (at most 8)
#                                    -> train.json (summary.json, metrics.csv), train-events.jsonl
#   results.json says what passed; check.log has every command's output.
#
# The payload (.device/, git-ignored through .git/info/exclude, named in the call's carry):
#   .device/fer.xz            the release binary built with --features cuda, stripped, xz
#   .device/fer2013.cache.xz  `fer data fer2013.csv.gz --export-cache` (u8 pixels as MED
#                             residuals, labels, splits), xz
#   .device/pytorch_reference.py  copied from ../shared/bench (../shared does not travel)
# Sizes measured by `--prepare` on 2026-11-28 (a call carries at most 64 MiB =
# 67,108,864 B, the working tree included; `--prepare` writes the current ones into
# .device/sizes.txt):
#   release binary, --features cuda: about 57 MB; stripped 45,709,016 B;
#     xz -9e about 9.0 MB; xz --x86 --lzma2=preset=9e 8,737,404 B (what travels).
#   fer2013.csv.gz (Training+PublicTest, 32,298 rows): 86,900,647 B.
#   the cache (header, labels, pixels as MED residuals): 74,447,096 B; xz of the raw
#     pixels would be 57.8 MB (too big beside the binary), of the cache with
#     --lzma2=preset=9e,lc=4,pb=0 54,537,696 B (what travels).
#   working tree that travels (tracked + untracked, not ignored): 3,337,449 B.
#   total 66,624,733 B: 484,131 B under the limit, so keep big files out of the tree.
# --prepare refuses to finish when the total would not fit.
#
# On the device: if NVRTC is not found, LD_LIBRARY_PATH is pointed at the toolkit's lib64
# and at PyTorch's nvidia wheel lib folders (searched for libnvrtc*.so*), see find_nvrtc.

set -u

MODE=device
case "${1:-}" in
    --prepare) MODE=prepare ;;
    --cpu-dry-run) MODE=dry ;;
    "") ;;
    *) echo "usage: $0 [--prepare | --cpu-dry-run]" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PAYLOAD="$ROOT/.device"
LIMIT_BYTES=67108864
SHARED_DATA="$ROOT/../shared/data/fer2013/fer2013.csv.gz"
SHARED_REFERENCE="$ROOT/../shared/bench/pytorch_reference.py"

prepare() {
    set -e
    cd "$ROOT"
    grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
    # Uncompressed copies stay in target/ (ignored, never carried).
    local local_copies="$ROOT/target/device-check"
    mkdir -p "$PAYLOAD" "$local_copies"
    echo "== building the cuda binary (slow the first time)"
    nice cargo build --release --features cuda
    # Copied at once: another build in this target folder may replace it.
    cp target/release/fer "$local_copies/fer.unstripped"
    if "$local_copies/fer.unstripped" devices | grep -q 'not compiled in'; then
        echo "target/release/fer was replaced by a build without cuda: run --prepare again" >&2
        exit 1
    fi
    strip -o "$local_copies/fer" "$local_copies/fer.unstripped"
    # The x86 branch filter first: about 3% smaller for machine code.
    xz -T1 --x86 --lzma2=preset=9e -c "$local_copies/fer" > "$PAYLOAD/fer.xz"
    echo "== the data cache"
    "$local_copies/fer" data "$SHARED_DATA" --export-cache "$local_copies/fer2013.cache"
    xz -T1 --lzma2=preset=9e,lc=4,pb=0 -c "$local_copies/fer2013.cache" > "$PAYLOAD/fer2013.cache.xz"
    cp "$SHARED_REFERENCE" "$PAYLOAD/pytorch_reference.py"
    local tree carried total
    tree=$(git ls-files -co --exclude-standard -z | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
    carried=$(stat -c %s "$PAYLOAD/fer.xz" "$PAYLOAD/fer2013.cache.xz" "$PAYLOAD/pytorch_reference.py" | awk '{s+=$1} END {print s}')
    total=$((tree + carried))
    {
        echo "binary unstripped: $(stat -c %s "$local_copies/fer.unstripped") B"
        echo "binary stripped:   $(stat -c %s "$local_copies/fer") B"
        echo "binary xz:         $(stat -c %s "$PAYLOAD/fer.xz") B"
        echo "cache:             $(stat -c %s "$local_copies/fer2013.cache") B"
        echo "cache xz:          $(stat -c %s "$PAYLOAD/fer2013.cache.xz") B"
        echo "working tree:      $tree B"
        echo "total carried:     $total B of $LIMIT_BYTES"
    } | tee "$PAYLOAD/sizes.txt"
    if [ "$total" -ge "$LIMIT_BYTES" ]; then
        echo "too big for one call: $total B" >&2
        exit 1
    fi
    echo "ready: run \`bash scripts/device-check.sh\` on the device with carry [\".device\"]"
}

if [ "$MODE" = prepare ]; then
    prepare
    exit $?
fi

# ---------------------------------------------------------------- the check
OUT=${OUT:-$ROOT/device-check-out}
mkdir -p "$OUT"
LOG="$OUT/check.log"
: > "$LOG"
WORK=$(mktemp -d /tmp/fer-device-check.XXXXXX)
START=$SECONDS
# The device call's own limit is 600 s; finish with room to spare.
DEADLINE=${FER_CHECK_SECONDS:-570}
RESULTS="$WORK/results.txt"
: > "$RESULTS"

log() { echo "[$((SECONDS - START))s] $*" | tee -a "$LOG"; }
record() { echo "$1=$2" >> "$RESULTS"; }

# Runs "$@" with a time limit, stdout to $1's file, stderr and a copy into the log.
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

find_nvrtc() {
    local dirs=() dir lib
    for lib in /usr/local/cuda*/lib64/libnvrtc.so* /usr/local/cuda*/targets/*/lib/libnvrtc.so*; do
        [ -e "$lib" ] && dirs+=("$(dirname "$lib")")
    done
    local site
    for site in $(python3 -c 'import site, sys; print(" ".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null); do
        for lib in "$site"/nvidia/*/lib/libnvrtc.so* "$site"/nvidia/lib/libnvrtc.so*; do
            [ -e "$lib" ] && dirs+=("$(dirname "$lib")")
        done
    done
    # cudarc asks for libnvrtc.so or libnvrtc.so.<major>; wheels ship only the versioned
    # file, so a folder of links covers both spellings.
    mkdir -p "$WORK/nvrtc"
    for dir in "${dirs[@]}"; do
        for lib in "$dir"/libnvrtc.so.*; do
            [ -e "$lib" ] || continue
            [ -e "$WORK/nvrtc/libnvrtc.so" ] || ln -s "$lib" "$WORK/nvrtc/libnvrtc.so"
        done
    done
    local path="$WORK/nvrtc"
    for dir in $(printf '%s\n' "${dirs[@]}" | awk '!seen[$0]++'); do path="$path:$dir"; done
    [ -d /usr/local/nvidia/lib64 ] && path="$path:/usr/local/nvidia/lib64"
    export LD_LIBRARY_PATH="$path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    log "NVRTC folders: ${dirs[*]:-none found}"
    log "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
}

unpack() {
    # xz, or Python's lzma where xz is missing.
    local from=$1 to=$2
    if command -v xz > /dev/null; then
        xz -dc "$from" > "$to"
    else
        python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$from" "$to"
    fi
}

if [ "$MODE" = dry ]; then
    DEVICE=cpu
    FER=${FER:-$ROOT/target/release/fer}
    DATA=""            # the bundled sample
    REFERENCE=""       # needs torch: skipped
    PARITY_ARGS=(--model resnet8 --batch 8 --steps 3)
    SPEED_ARGS=(--model resnet8 --batch 8 --steps 2 --warmup 1)
    TRAIN_ARGS=(--model resnet8 --batch-size 32 --tta tencrop)
    MAX_MINUTES=0.1
else
    DEVICE=cuda
    FER="$WORK/fer"
    DATA="$WORK/fer2013.cache"
    REFERENCE="$PAYLOAD/pytorch_reference.py"
    PARITY_ARGS=(--model resnet20 --batch 64 --steps 20)
    SPEED_ARGS=(--model resnet18 --batch 128 --steps 50 --warmup 10)
    TRAIN_ARGS=(--model resnet18 --batch-size 128 --tta tencrop)
    MAX_MINUTES=8
    log "unpacking the payload"
    unpack "$PAYLOAD/fer.xz" "$FER" && chmod +x "$FER" || log "no binary: $PAYLOAD/fer.xz"
    unpack "$PAYLOAD/fer2013.cache.xz" "$DATA" || log "no data: $PAYLOAD/fer2013.cache.xz"
    nvidia-smi >> "$LOG" 2>&1
    find_nvrtc
fi
DATA_ARGS=()
[ -n "$DATA" ] && DATA_ARGS=(--data "$DATA")

# 1. devices
run_step "$OUT/devices.json" 120 "$FER" devices --json
record devices_exit $?

# 2. parity
run_step "$WORK/parity-device.json" 240 "$FER" bench --parity --no-augment --device "$DEVICE" "${PARITY_ARGS[@]}" "${DATA_ARGS[@]}"
record parity_device_exit $?
run_step "$WORK/parity-cpu.json" 240 "$FER" bench --parity --no-augment --device cpu "${PARITY_ARGS[@]}" "${DATA_ARGS[@]}"
record parity_cpu_exit $?
python3 - "$WORK/parity-device.json" "$WORK/parity-cpu.json" > "$OUT/parity.json" 2>> "$LOG" <<'PY'
import json, sys
def load(path):
    try:
        return json.load(open(path))
    except Exception as error:
        return {"error": f"{path}: {error}"}
device, cpu = load(sys.argv[1]), load(sys.argv[2])
result = {"device": device, "cpu": cpu}
if "losses" in device and "losses" in cpu and len(device["losses"]) == len(cpu["losses"]):
    diffs = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(device["losses"], cpu["losses"])]
    result.update(max_relative_difference=max(diffs), relative_differences=diffs, passed=max(diffs) <= 0.01)
else:
    result["passed"] = False
print(json.dumps(result, indent=1))
PY
record parity_passed "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["passed"])' "$OUT/parity.json" 2>/dev/null || echo False)"

# 3. speed
run_step "$WORK/speed-fer.json" 240 "$FER" bench --profile --device "$DEVICE" "${SPEED_ARGS[@]}"
record speed_fer_exit $?
if [ -n "$REFERENCE" ] && [ -f "$REFERENCE" ]; then
    run_step "$WORK/speed-torch-fp32.json" 120 python3 "$REFERENCE" speed --model resnet18 --batch 128
    record speed_torch_fp32_exit $?
    run_step "$WORK/speed-torch-amp.json" 120 python3 "$REFERENCE" speed --model resnet18 --batch 128 --amp --channels-last
    record speed_torch_amp_exit $?
fi
python3 - "$WORK"/speed-*.json > "$OUT/speed.json" 2>> "$LOG" <<'PY'
import json, os, sys
runs = {}
for path in sys.argv[1:]:
    name = os.path.basename(path)[len("speed-"):-len(".json")]
    try:
        runs[name] = json.loads(open(path).read().strip().splitlines()[-1])
    except Exception as error:
        runs[name] = {"error": str(error)}
fer = runs.get("fer", {}).get("images_per_s")
for name, run in runs.items():
    if fer and name != "fer" and run.get("images_per_s"):
        run["fer_over_this"] = fer / run["images_per_s"]
print(json.dumps(runs, indent=1))
PY

# 4. a time-budgeted training run, sized to end inside the deadline: what is left,
#    less RESERVE seconds for the run's overrun (at most about an epoch), checkpoints
#    and copying the results. At its time limit fer gets SIGTERM: it then saves a
#    checkpoint, and still writes summary.json.
RESERVE=120
LEFT=$((DEADLINE - (SECONDS - START)))
MINUTES=$(python3 -c "print(round(max(0.05, min($MAX_MINUTES, ($LEFT - $RESERVE) / 60)), 2))")
log "training for $MINUTES minutes ($LEFT s left of $DEADLINE)"
RUNS="$WORK/runs"
run_step "$WORK/train.log" "$(python3 -c "print(int($MINUTES * 60 + $RESERVE - 15))")" \
    "$FER" train --minutes "$MINUTES" --device "$DEVICE" --headless --runs-dir "$RUNS" "${TRAIN_ARGS[@]}" "${DATA_ARGS[@]}"
record train_exit $?
RUN_DIR=$(ls -d "$RUNS"/*/ 2>/dev/null | head -n 1)
if [ -n "$RUN_DIR" ]; then
    cp "$RUN_DIR/events.jsonl" "$OUT/train-events.jsonl" 2>/dev/null
    python3 - "$RUN_DIR" "$WORK/train.log" "$MINUTES" > "$OUT/train.json" 2>> "$LOG" <<'PY'
import csv, json, os, sys
run, log, minutes = sys.argv[1], sys.argv[2], float(sys.argv[3])
out = {"minutes": minutes, "run_dir": run}
try:
    out["summary"] = json.load(open(os.path.join(run, "summary.json")))
except Exception as error:
    out["summary_error"] = str(error)
try:
    out["metrics"] = list(csv.DictReader(open(os.path.join(run, "metrics.csv"))))
except Exception as error:
    out["metrics_error"] = str(error)
out["log_tail"] = open(log).read().splitlines()[-20:]
print(json.dumps(out, indent=1))
PY
fi

record seconds $((SECONDS - START))
python3 - "$RESULTS" > "$OUT/results.json" <<'PY'
import json, sys
print(json.dumps(dict(line.rstrip("\n").split("=", 1) for line in open(sys.argv[1]) if "=" in line), indent=1))
PY
tee -a "$LOG" < "$OUT/results.json"
# Success: every step exited 0 and the losses agreed.
FAILED=$(grep -v -e '_exit=0$' -e '^parity_passed=True$' -e '^seconds=' "$RESULTS" | tr '\n' ' ')
rm -rf "$WORK"
if [ -n "$FAILED" ]; then
    log "FAILED: $FAILED"
    exit 1
fi
log "all steps passed"
