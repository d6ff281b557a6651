#!/usr/bin/env bash
# What the dashboard costs: the same training run with `--headless` and with the
# dashboard up in a 120x40 tmux pane, alternated ROUNDS times. Prints each run's
# mean training images/s (summary.json) and, for dashboard runs, the CPU time of
# the dashboard's thread (the main thread; the engine has its own) and of the tmux
# server drawing the pane, over the run.
#
#   scripts/dashboard-cost.sh [ROUNDS] [extra fer train arguments...]
#
# Defaults: 2 rounds of resnet20, 4 epochs on the bundled sample, seed 7.
# Needs tmux and a release build (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-2}
shift || true
EXTRA=("$@")
[ ${#EXTRA[@]} -eq 0 ] && EXTRA=(--model resnet20 --epochs 4 --seed 7 --tta none)
FER=$PWD/target/release/fer
WORK=$(mktemp -d)
SOCKET="fer-cost-$$"
trap 'tmux -L "$SOCKET" kill-server 2>/dev/null || true; rm -rf "$WORK"' EXIT
TICKS=$(getconf CLK_TCK)

summary_field() { # run-root field
    sed -n "s/.*\"$2\": *\([0-9.eE+-]*\).*/\1/p" "$1"/*/summary.json | head -1
}

# utime+stime of one thread, in seconds.
thread_cpu() { # pid tid
    awk -v t="$TICKS" '{ sub(/.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/task/$2/stat"
}

headless() { # root
    local start=$SECONDS
    "$FER" train --headless --runs-dir "$1" "${EXTRA[@]}" >"$1.log" 2>&1
    echo "headless   $(summary_field "$1" mean_images_per_second) img/s  wall $((SECONDS - start)) s"
}

dashboard() { # root
    local start=$SECONDS pid="" cpu=0 wall
    tmux -L "$SOCKET" -f /dev/null new-session -d -x 120 -y 40 \
        "$FER" train --runs-dir "$1" "${EXTRA[@]}"
    until [ -n "$pid" ]; do
        sleep 0.2
        pid=$(cat "$1"/*/engine.pid 2>/dev/null || true)
    done
    # The finished dashboard stays up until q: sample until summary.json exists.
    while ! ls "$1"/*/summary.json >/dev/null 2>&1; do
        cpu=$(thread_cpu "$pid" "$pid" 2>/dev/null || echo "$cpu")
        sleep 0.5
    done
    wall=$((SECONDS - start))
    server=$(tmux -L "$SOCKET" display-message -p '#{pid}')
    server_cpu=$(thread_cpu "$server" "$server")
    tmux -L "$SOCKET" kill-server 2>/dev/null || true
    echo "dashboard  $(summary_field "$1" mean_images_per_second) img/s  wall $wall s" \
        " dashboard thread ${cpu} s CPU ($(percent "$cpu" "$wall") of one core)," \
        " tmux server ${server_cpu} s ($(percent "$server_cpu" "$wall"))"
}

percent() { # seconds wall
    awk -v c="$1" -v w="$2" 'BEGIN { printf "%.2f%%", 100 * c / w }'
}

command -v tmux >/dev/null || { echo "tmux is needed" >&2; exit 2; }
[ -x "$FER" ] || { echo "build first: cargo build --release" >&2; exit 2; }
echo "fer train ${EXTRA[*]}  (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
# Alternate which goes first, so that a machine that speeds up or slows down over
# the measurement does not favour one side.
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then
        headless "$WORK/headless-$round"
        dashboard "$WORK/dashboard-$round"
    else
        dashboard "$WORK/dashboard-$round"
        headless "$WORK/headless-$round"
    fi
done
