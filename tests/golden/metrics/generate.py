#!/usr/bin/env python3
"""Golden values for mirlens-probe metrics.

Pinned: mir_eval 0.8.2, scikit-learn 1.9.1, numpy 2.4.6 (run with /work/pyref/bin/python or any env with them).
Writes cases.json next to this file. Seeded; re-running gives identical output.
"""
import json
import os
import warnings

import mir_eval
import numpy as np
import sklearn
from sklearn import metrics as skm

warnings.filterwarnings("ignore")
assert mir_eval.__version__ == "0.8.2", mir_eval.__version__
assert sklearn.__version__ == "1.9.1", sklearn.__version__
rng = np.random.default_rng(20260101)
out = {"versions": {"mir_eval": mir_eval.__version__, "sklearn": sklearn.__version__, "numpy": np.__version__}}

# ---- key -------------------------------------------------------------------------------------------------
tonics = ["C", "C#", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B", "c", "g#"]
modes = ["major", "minor", "other"]
pairs = [("C major", "G major"), ("G major", "C major"), ("C major", "F major"), ("C major", "A minor"),
         ("A minor", "C major"), ("C major", "C minor"), ("X", "X"), ("X", "C major"), ("C major", "X"),
         ("Db major", "C# major"), ("a minor", "E minor"), ("C other", "G other"), ("C other", "C major"),
         ("E minor", "B minor"), ("B minor", "E minor")]
for _ in range(60):
    a = f"{rng.choice(tonics)} {rng.choice(modes)}"
    b = f"{rng.choice(tonics)} {rng.choice(modes)}"
    pairs.append((a, b))
out["key"] = [{"ref": a, "est": b, "score": float(mir_eval.key.weighted_score(a, b))} for a, b in pairs]

# ---- beat ------------------------------------------------------------------------------------------------
def beat_case(ref, est):
    ref = np.asarray(ref, float)
    est = np.asarray(est, float)
    return {"ref": ref.tolist(), "est": est.tolist(),
            "f_measure": float(mir_eval.beat.f_measure(ref, est)),
            "f_measure_trimmed": float(mir_eval.beat.evaluate(ref, est)["F-measure"])}

grid = np.arange(0.5, 20.0, 0.5)
est = grid.copy()
est[:20] += 0.06
est[20:] += 0.08
beats = [beat_case(grid, est)]
for _ in range(12):
    ref = np.sort(rng.uniform(0, 30, rng.integers(5, 60)))
    kept = ref[rng.random(len(ref)) < 0.8]
    e = np.sort(np.concatenate([kept + rng.normal(0, 0.05, len(kept)), rng.uniform(0, 30, rng.integers(0, 10))]))
    e = np.sort(e[e > 0])
    beats.append(beat_case(ref, e))
beats.append(beat_case([], [1.0, 2.0]))
beats.append(beat_case([6.0, 7.0], []))
beats.append(beat_case([1.0, 2.0, 3.0], [1.01, 2.02]))
out["beat"] = beats

# ---- onset -----------------------------------------------------------------------------------------------
def onset_case(ref, est):
    ref = np.asarray(ref, float)
    est = np.asarray(est, float)
    f, p, r = mir_eval.onset.f_measure(ref, est)
    return {"ref": ref.tolist(), "est": est.tolist(), "f": float(f), "p": float(p), "r": float(r)}

onsets = [onset_case([0.1, 0.5, 1.0, 1.5], [0.14, 0.56, 1.0, 1.05, 2.0])]
for _ in range(12):
    ref = np.sort(rng.uniform(0, 10, rng.integers(3, 40)))
    e = np.sort(np.concatenate([ref + rng.normal(0, 0.04, len(ref)), rng.uniform(0, 10, rng.integers(0, 8))]))
    e = np.unique(np.round(e[e > 0], 4))
    onsets.append(onset_case(ref, e))
onsets.append(onset_case([], [0.5]))
onsets.append(onset_case([0.5], []))
out["onset"] = onsets

# ---- notes -----------------------------------------------------------------------------------------------
def notes_case(ri, rp, ei, ep):
    ri, rp, ei, ep = (np.asarray(v, float) for v in (ri, rp, ei, ep))
    ri = ri.reshape(-1, 2)
    ei = ei.reshape(-1, 2)
    w = mir_eval.transcription.precision_recall_f1_overlap(ri, rp, ei, ep)
    wo = mir_eval.transcription.precision_recall_f1_overlap(ri, rp, ei, ep, offset_ratio=None)
    return {"ref_intervals": ri.tolist(), "ref_pitches": rp.tolist(), "est_intervals": ei.tolist(), "est_pitches": ep.tolist(),
            "with_offset": [float(v) for v in w], "no_offset": [float(v) for v in wo]}

# The reference example: 3 notes detuned by 40 cents with different offsets.
ri = [[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]
rp = [440.0, 494.0, 523.0]
ei = [[0.01, 0.5], [1.02, 1.6], [2.0, 3.1]]
ep = [p * 2 ** (40 / 1200) for p in rp]
notes = [notes_case(ri, rp, ei, ep)]
for _ in range(12):
    n = int(rng.integers(3, 25))
    on = np.sort(rng.uniform(0, 10, n))
    dur = rng.uniform(0.1, 1.0, n)
    ri = np.stack([on, on + dur], 1)
    rp = 440 * 2 ** (rng.integers(-12, 13, n) / 12)
    keep = rng.random(n) < 0.8
    eon = on[keep] + rng.normal(0, 0.03, keep.sum())
    edur = dur[keep] * rng.uniform(0.7, 1.3, keep.sum())
    ei = np.stack([eon, eon + edur], 1)
    ep = rp[keep] * 2 ** (rng.normal(0, 30, keep.sum()) / 1200)
    m = int(rng.integers(0, 4))
    xon = rng.uniform(0, 10, m)
    ei = np.concatenate([ei, np.stack([xon, xon + 0.3], 1)])
    ep = np.concatenate([ep, 440 * 2 ** (rng.integers(-12, 13, m) / 12)])
    ei = np.clip(ei, 0, None)
    notes.append(notes_case(ri, rp, ei, ep))
notes.append(notes_case(np.zeros((0, 2)), [], [[0.0, 1.0]], [440.0]))
out["notes"] = notes

# ---- chords ----------------------------------------------------------------------------------------------
def chord_case(ri, rl, ei, el):
    ri = np.asarray(ri, float)
    ei = np.asarray(ei, float)
    s = mir_eval.chord.evaluate(ri, rl, ei, el)
    return {"ref_intervals": ri.tolist(), "ref_labels": rl, "est_intervals": ei.tolist(), "est_labels": el,
            "scores": {k: float(v) for k, v in s.items()}}

chords = [chord_case([[0, 2], [2, 4], [4, 6], [6, 8]], ["C:maj", "A:min", "F:maj7", "N"],
                     [[0, 1], [1, 3], [3, 5], [5, 9]], ["C:maj", "C:maj", "F:maj", "N"])]
vocab = ["N", "X", "C:maj", "C:min", "A:min", "A:min7", "G:7", "G", "F:maj7", "D:min/b3", "E:maj/5", "Bb:dim",
         "Eb:aug", "C:sus4", "A:hdim7", "C:maj(9)", "F#:min6", "D:(1,3)", "G:maj(*5)", "C:5", "Db:maj/3", "B:min7/b7",
         "C:maj6", "A:sus2", "E:dim7", "C:1"]
for _ in range(15):
    n = int(rng.integers(2, 12))
    b = np.concatenate([[0.0], np.sort(rng.uniform(0.2, 20, n - 1)), [20.0]])
    b = np.unique(np.round(b, 3))
    ri = np.stack([b[:-1], b[1:]], 1)
    rl = [str(rng.choice(vocab)) for _ in range(len(ri))]
    m = int(rng.integers(2, 12))
    eb = np.concatenate([[float(rng.uniform(0, 1))], np.sort(rng.uniform(1, 21, m - 1)), [float(rng.uniform(19, 22))]])
    eb = np.unique(np.round(eb, 3))
    ei = np.stack([eb[:-1], eb[1:]], 1)
    el = [str(rng.choice(vocab)) for _ in range(len(ei))]
    chords.append(chord_case(ri, rl, ei, el))
out["chord"] = chords

# ---- melody ----------------------------------------------------------------------------------------------
def melody_case(rt, rf, et, ef):
    rt, rf, et, ef = (np.asarray(v, float) for v in (rt, rf, et, ef))
    s = mir_eval.melody.evaluate(rt, rf, et, ef)
    return {"ref_time": rt.tolist(), "ref_freq": rf.tolist(), "est_time": et.tolist(), "est_freq": ef.tolist(),
            "scores": {k: float(v) for k, v in s.items()}}

melody = []
for same in [True, True, False, False]:
    t = np.arange(0, 3.0, 0.01)
    f = 220 * 2 ** (np.round(rng.normal(0, 4, len(t)).cumsum() / 20) / 12)
    f[rng.random(len(t)) < 0.2] = 0
    if same:
        et = t
        ef = f * 2 ** (rng.normal(0, 40, len(t)) / 1200)
        ef[rng.random(len(t)) < 0.15] *= 2
        ef[rng.random(len(t)) < 0.1] = 0
        ef[rng.random(len(t)) < 0.05] *= -1
    else:
        et = np.arange(0, 3.1, 0.0116)
        ef = np.interp(et, t, np.where(f > 0, f, 220)) * 2 ** (rng.normal(0, 30, len(et)) / 1200)
        ef[rng.random(len(et)) < 0.2] = 0
    melody.append(melody_case(t, f, et, ef))
out["melody"] = melody

# ---- classification / regression -------------------------------------------------------------------------
cls = []
for k in [2, 3, 7]:
    yt = rng.integers(0, k, 80)
    yp = np.where(rng.random(80) < 0.6, yt, rng.integers(0, k, 80))
    cls.append({"y_true": yt.tolist(), "y_pred": yp.tolist(), "accuracy": float(skm.accuracy_score(yt, yp)),
                "macro_f1": float(skm.f1_score(yt, yp, average="macro"))})
# A predicted class absent from y_true and a true class never predicted.
yt = np.array([0, 0, 1, 1, 2])
yp = np.array([0, 3, 1, 1, 1])
cls.append({"y_true": yt.tolist(), "y_pred": yp.tolist(), "accuracy": float(skm.accuracy_score(yt, yp)),
            "macro_f1": float(skm.f1_score(yt, yp, average="macro"))})
out["classification"] = cls

rank = []
for n, L in [(50, 1), (120, 5), (60, 3)]:
    yt = (rng.random((n, L)) < 0.3).astype(int)
    yt[0, :] = 1
    yt[1, :] = 0
    sc = np.round(yt * 0.3 + rng.random((n, L)), 2)  # rounding creates ties
    rank.append({"y_true": yt.tolist(), "scores": sc.tolist(),
                 "roc_auc_macro": float(skm.roc_auc_score(yt, sc, average="macro")),
                 "pr_auc_macro": float(skm.average_precision_score(yt, sc, average="macro"))})
out["ranking"] = rank

reg = []
for t in [1, 3]:
    yt = rng.normal(0, 1, (40, t))
    yp = yt + rng.normal(0, 0.5, (40, t))
    reg.append({"y_true": yt.tolist(), "y_pred": yp.tolist(), "r2": float(skm.r2_score(yt, yp))})
yt = np.ones((5, 1))
reg.append({"y_true": yt.tolist(), "y_pred": (yt + 0.1).tolist(), "r2": float(skm.r2_score(yt, yt + 0.1))})
out["regression"] = reg

# ---- multipitch (frame-level pitch sets on one grid) ---------------------------------------------------------
def mp_case(ref, est):
    times = np.arange(len(ref)) / 75.0
    hz = lambda frames: [mir_eval.util.midi_to_hz(np.asarray(f, float)) for f in frames]
    m = mir_eval.multipitch.metrics(times, hz(ref), times, hz(est))
    names = ["precision", "recall", "accuracy", "substitution_error", "miss_error", "false_alarm_error",
             "total_error", "chroma_precision", "chroma_recall", "chroma_accuracy", "chroma_substitution_error",
             "chroma_miss_error", "chroma_false_alarm_error", "chroma_total_error"]
    return {"ref": [list(map(int, f)) for f in ref], "est": [list(map(int, f)) for f in est],
            **{n: float(v) for n, v in zip(names, m)}}

mp = []
for _ in range(10):
    n = int(rng.integers(20, 120))
    ref, est = [], []
    for _t in range(n):
        r = sorted(set(rng.integers(36, 84, rng.integers(0, 5)).tolist()))
        e = [p for p in r if rng.random() < 0.7]
        e += [p + int(rng.choice([-12, 12, 1, -1, 7])) for p in r if rng.random() < 0.2]
        e += rng.integers(36, 84, rng.integers(0, 2)).tolist()
        ref.append(r)
        est.append(sorted(set(e)))
    mp.append(mp_case(ref, est))
mp.append(mp_case([[60, 64], [], [67]], [[], [], []]))
mp.append(mp_case([[60, 72], [48]], [[48, 60], [36, 60]]))
out["multipitch"] = mp

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases.json"), "w") as fh:
    json.dump(out, fh, indent=0)
print("wrote cases.json")
