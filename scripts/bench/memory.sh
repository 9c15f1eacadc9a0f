#!/usr/bin/env bash
# Peak memory (maximum resident set size) of mirlens on long audio.
#
# Generates mono 16-bit 22.05 kHz WAVs of 1, 10, 60 and 120 minutes (a tone with a slow vibrato, clicks and noise;
# Python standard library only) in a temporary folder, runs each command under `/usr/bin/time -v` and prints the
# peak RSS and wall time per command and length:
#
#   features  --kind logmel                                  (streamed)
#   embed     --model logmel --pool mean                     (streamed; resampled to 24 kHz)
#   embed     --model logmel                                 (unpooled: [frames, 128] written as it comes)
#   embed     --model mirlens-music-small --pool mean        (default model; 5 s windows)
#   extract   --model logmel --pool mean, one-clip manifest
#   extract   --model mirlens-music-small --pool mean        (default model; long clips streamed window by window)
#
# Usage: scripts/bench/memory.sh [minutes ...]          (default: 1 10 60 120)
# Environment: MIRLENS (binary; default target/release/mirlens, or $CARGO_TARGET_DIR/release/mirlens),
#              MODEL_BUDGET_S (skip the model run at longer lengths once one took longer than this; default 150).
# Build first: cargo build --release -p mirlens-cli
set -euo pipefail
cd "$(dirname "$0")/../.."
lengths=("$@")
[ ${#lengths[@]} -gt 0 ] || lengths=(1 10 60 120)
bin=${MIRLENS:-}
if [ -z "$bin" ]; then
    bin=target/release/mirlens
    [ -n "${CARGO_TARGET_DIR:-}" ] && bin=$CARGO_TARGET_DIR/release/mirlens
fi
[ -x "$bin" ] || { echo "no mirlens binary at $bin (cargo build --release -p mirlens-cli)" >&2; exit 1; }
budget=${MODEL_BUDGET_S:-150}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gen() { # minutes path
    python3 - "$1" "$2" <<'EOF'
import array, math, random, sys, wave
minutes, path = float(sys.argv[1]), sys.argv[2]
sr = 22050
rng = random.Random(7)
# ten different one-second blocks, cycled (so every window differs from its neighbours)
blocks = []
for b in range(10):
    f = 220.0 * 2 ** (b / 12)
    a = array.array("h", (
        int(max(-32768, min(32767, 32768 * (
            0.3 * math.sin(2 * math.pi * f * i / sr + 0.5 * math.sin(2 * math.pi * 5 * i / sr))
            + (0.4 if i % 4410 == 0 else 0.0)
            + 0.02 * (rng.random() - 0.5)))))
        for i in range(sr)))
    blocks.append(a.tobytes())
with wave.open(path, "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(sr)
    for s in range(int(minutes * 60)):
        w.writeframes(blocks[s % 10])
EOF
}

# run NAME MINUTES CMD...: prints one result line and remembers the wall time
last_wall=0
run() {
    local name=$1 minutes=$2
    shift 2
    local log=$tmp/time.txt
    if /usr/bin/time -v "$@" >"$tmp/out.txt" 2>"$log"; then status=ok; else status="failed ($(grep -m1 -i error "$log" || true))"; fi
    local rss wall
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
    last_wall=$(python3 -c "import sys; p=sys.argv[1].split(':'); print(int(float(p[-1]) + 60*int(p[-2]) + (3600*int(p[-3]) if len(p) > 2 else 0)))" "$wall")
    printf '%-44s %5s min  peak RSS %7.1f MB  wall %8s  %s\n' "$name" "$minutes" "$(echo "$rss / 1024" | bc -l)" "$wall" "$status"
    echo "$name|$minutes|$(echo "scale=1; $rss / 1024" | bc -l)|$wall|$status" >>"$tmp/results"
}

echo "mirlens: $($bin --version)   $(date -u '+%Y-%m-%d %H:%M UTC')   $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
model_skip=0
for m in "${lengths[@]}"; do
    wav=$tmp/long_${m}min.wav
    gen "$m" "$wav"
    printf '%s\n' "{\"id\":\"long\",\"path\":\"$wav\",\"labels\":{}}" >"$tmp/manifest.jsonl"
    rm -rf "$tmp/o"
    run "features --kind logmel" "$m" "$bin" features --kind logmel "$wav" --out "$tmp/o/f"
    run "embed --model logmel --pool mean" "$m" "$bin" embed --model logmel --pool mean "$wav" --out "$tmp/o/e1"
    run "embed --model logmel (unpooled)" "$m" "$bin" embed --model logmel "$wav" --out "$tmp/o/e2"
    rm -rf "$tmp/o"
    if [ "$model_skip" = 0 ]; then
        run "embed --model mirlens-music-small --pool mean" "$m" "$bin" embed --model mirlens-music-small --pool mean "$wav" --out "$tmp/o/e3"
        [ "$last_wall" -gt "$budget" ] && model_skip=1
    else
        echo "embed --model mirlens-music-small --pool mean   $m min  skipped (the previous length took over ${budget} s)"
    fi
    run "extract --model logmel --pool mean" "$m" "$bin" extract --model logmel --pool mean --dataset "$tmp/manifest.jsonl" --out "$tmp/o/s"
    if [ "$model_skip" = 0 ]; then
        run "extract --model mirlens-music-small --pool mean" "$m" "$bin" extract --model mirlens-music-small --pool mean --dataset "$tmp/manifest.jsonl" --out "$tmp/o/s2"
        [ "$last_wall" -gt "$budget" ] && model_skip=1
    fi
    rm -rf "$tmp/o" "$wav"
done

echo
echo "| command | $(printf '%s min | ' "${lengths[@]}")"
echo "|---|$(printf -- '---|%.0s' "${lengths[@]}")"
cut -d'|' -f1 "$tmp/results" | awk '!seen[$0]++' | while read -r name; do
    row="| \`$name\` |"
    for m in "${lengths[@]}"; do
        v=$(awk -F'|' -v n="$name" -v m="$m" '$1 == n && $2 == m {print $3 " MB"}' "$tmp/results")
        row="$row ${v:-—} |"
    done
    echo "$row"
done
