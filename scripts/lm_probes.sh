#!/usr/bin/env bash
# Probe tables of a shipped token LM (docs/pretrain.md): every checkpoint and the final weights of MODEL_DIR over
# held-out documents, a layer sweep per label (5-fold CV grouped by document, 95 % CIs).
#   scripts/lm_probes.sh models/mirlens-midi-small midi OUT      # synth-pieces seed 7 (pieces never trained on)
#   scripts/lm_probes.sh models/mirlens-caption-small caption OUT
# Writes OUT/docs.jsonl, OUT/stores/<checkpoint>/ and OUT/probe-<checkpoint>-<label>/layer_sweep.{csv,json,svg},
# and prints one table row per (checkpoint, label): the best layer's accuracy and CI, and every layer's accuracy.
set -euo pipefail
model=$1 kind=$2 out=$3
bin=${MIRLENS:-target/release/mirlens}
mkdir -p "$out"
series=$(ls -d "$model"/checkpoints/step-* | sort | tr '\n' ',')"$model"
if [ "$kind" = midi ]; then
  "$bin" midi docs --dataset synth-pieces --seed 7 --limit 300 --out "$out/docs.jsonl"
  rows="note_pitch_class note_octave bar_position track_family"
  clips="key mode time_sig melody_family"
else
  # the first caption of each held-out piece, with the piece's labels
  "$bin" datasets captions --dataset synth-pieces --seed 7 --limit 300 --out "$out/docs.jsonl"
  rows=""
  clips="key mode time_sig melody_family"
fi
"$bin" extract --quiet --model "$series" --dataset "$out/docs.jsonl" --pool none --window 500 --out "$out/stores"
for ck in $(ls "$out/stores"); do
  [ -f "$out/stores/$ck/manifest.json" ] || continue
  for l in $rows; do
    "$bin" probe sweep --store "$out/stores/$ck" --label "$l" --pooling none --out "$out/probe-$ck-$l" >/dev/null
  done
  for l in $clips; do
    "$bin" probe sweep --store "$out/stores/$ck" --label "$l" --pooling mean --out "$out/probe-$ck-$l" >/dev/null
  done
done
python3 - "$out" <<'PY'
import csv, pathlib, sys
out = pathlib.Path(sys.argv[1])
for d in sorted(out.glob("probe-*")):
    rows = list(csv.DictReader(open(d / "layer_sweep.csv")))
    best = max(rows, key=lambda r: float(r["accuracy"]))
    every = " ".join(f"{float(r['accuracy']):.3f}" for r in rows)
    print(f"{d.name[6:]:<40} best layer {best['layer']}: {float(best['accuracy']):.3f} "
          f"[{float(best['ci_low']):.3f}, {float(best['ci_high']):.3f}]   layers: {every}")
PY
