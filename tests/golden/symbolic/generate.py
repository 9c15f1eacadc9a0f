#!/usr/bin/env python3
# Golden fixtures for mirlens-symbolic: MIDI files (written here, deterministically) and what the Python peers make
# of them: pretty_midi instruments and piano rolls, symusic notes, miditok REMI / MIDI-Like tokens, ids, vocab and
# decoded notes.
#
# Pinned versions: python 3.11, numpy 2.4.6, mido 1.3.3, pretty_midi 0.2.11.post0, symusic 0.6.0, miditok 3.1.0.
# Run from anywhere:  /work/pyref/bin/python tests/golden/symbolic/generate.py
#
# Files written with raw bytes (running status, SMPTE division, format 2) really contain those encodings.
# SMPTE: pretty_midi cannot read it, so its golden comes from the metrically identical file (tpq 500 at 120 qpm =
# 1000 ticks/s = 25 fps x 40 ticks/frame). Format 2: each pattern is its own score with its own tempo map, so its
# golden is pretty_midi on each pattern written alone as a format-0 file.
import io
import json
import os
import random
import struct

import mido
import numpy as np
import pretty_midi
import symusic
import miditok

HERE = os.path.dirname(os.path.abspath(__file__))
MIDI = os.path.join(HERE, "midi")
FS = [100, 50, 75]

from importlib.metadata import version as _v
assert _v("mido") == "1.3.3"
assert _v("miditok") == "3.1.0"
assert _v("symusic") == "0.6.0"


def vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def smf(fmt, division_bytes, tracks):
    b = b"MThd" + struct.pack(">IHH", 6, fmt, len(tracks)) + division_bytes
    for t in tracks:
        b += b"MTrk" + struct.pack(">I", len(t)) + t
    return b


def tempo_ev(delta, us):
    return vlq(delta) + b"\xff\x51\x03" + us.to_bytes(3, "big")


EOT = b"\x00\xff\x2f\x00"


def mido_file(tpq, tracks, fmt=1):
    """tracks: list of lists of (abs_tick, mido.Message/MetaMessage); sorted stably by tick."""
    mf = mido.MidiFile(type=fmt, ticks_per_beat=tpq)
    for evs in tracks:
        t = mido.MidiTrack()
        last = 0
        for tick, msg in sorted(evs, key=lambda e: e[0]):
            t.append(msg.copy(time=tick - last))
            last = tick
        mf.tracks.append(t)
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def on(tick, ch, p, v):
    return (tick, mido.Message("note_on", channel=ch, note=p, velocity=v))


def off(tick, ch, p, v=0):
    return (tick, mido.Message("note_off", channel=ch, note=p, velocity=v))


def note(ch, p, v, s, e):
    return [on(s, ch, p, v), off(e, ch, p)]


def prog(tick, ch, p):
    return (tick, mido.Message("program_change", channel=ch, program=p))


def cc(tick, ch, c, v):
    return (tick, mido.Message("control_change", channel=ch, control=c, value=v))


def meta(tick, kind, **kw):
    return (tick, mido.MetaMessage(kind, **kw))


def build_files():
    rng = random.Random(12)
    files = {}

    # 1. tempo changes: 120 -> 80 qpm at tick 1920, -> 150 at 4800; tempo only in track 0.
    t0 = [meta(0, "set_tempo", tempo=500000), meta(1920, "set_tempo", tempo=750000), meta(4800, "set_tempo", tempo=400000),
          meta(0, "time_signature", numerator=4, denominator=4)]
    t1 = [prog(0, 0, 0)]
    for i in range(16):
        p = [60, 62, 64, 65, 67, 69, 71, 72][i % 8]
        t1 += note(0, p, 60 + 4 * i, i * 480, i * 480 + 400)
    files["tempo_changes"] = mido_file(480, [t0, t1])

    # 2. overlapping same pitch, re-strike with on-before-off at one tick, on-and-off at the same tick.
    t1 = [prog(0, 0, 0)]
    t1 += [on(0, 0, 60, 100), on(240, 0, 60, 80), off(480, 0, 60), off(960, 0, 60)]
    t1 += [on(960, 0, 64, 90), on(1440, 0, 64, 70), off(1440, 0, 64), off(1920, 0, 64)]
    t1 += [on(1920, 0, 67, 50), off(1920, 0, 67), on(2400, 0, 67, 60), off(2880, 0, 67)]
    t1 += note(0, 48, 100, 0, 2880)
    files["overlap_same_pitch"] = mido_file(480, [[meta(0, "set_tempo", tempo=500000)], t1])

    # 3. running status, format 0, note-on velocity 0 as note-off, raw bytes.
    trk = tempo_ev(0, 600000) + b"\x00\xc0\x05" + b"\x00\x90\x3c\x64" + b"\x00\x40\x50" + b"\x00\x43\x46"
    trk += b"\x83\x60\x3c\x00" + b"\x00\x40\x00" + b"\x00\x43\x00"  # 480 ticks later: three offs, running status
    trk += b"\x00\x3e\x60" + b"\x81\x70\x3e\x00"  # D4 240 ticks
    trk += b"\x00\xb0\x07\x64" + b"\x00\x48\x28" + b"\x00\x90\x30\x50" + b"\x87\x40\x30\x00" + EOT
    files["running_status"] = smf(0, struct.pack(">H", 480), [trk])

    # 4. drums on channel 10 with a bass line.
    t1 = []
    for bar in range(4):
        for b in range(4):
            t = (bar * 4 + b) * 384
            t1 += note(9, 36 if b % 2 == 0 else 38, 100, t, t + 96)
            t1 += note(9, 42, 70, t, t + 48)
            t1 += note(9, 42, 60, t + 192, t + 240)
    t2 = [prog(0, 1, 33)]
    for i, p in enumerate([40, 40, 43, 45, 40, 47, 45, 43]):
        t2 += note(1, p, 90, i * 768, i * 768 + 700)
    files["drums"] = mido_file(384, [[meta(0, "set_tempo", tempo=461538)], t1, t2])

    # 5. several programs: three tracks, and a program change mid-track (strings -> brass on channel 2).
    t1 = [prog(0, 0, 0)] + sum((note(0, 60 + (i % 5) * 2, 80, i * 240, i * 240 + 200) for i in range(16)), [])
    t2 = [prog(0, 1, 24)] + sum((note(1, 52 + (i % 3) * 4, 70, i * 480, i * 480 + 480) for i in range(8)), [])
    t3 = [prog(0, 2, 48)] + note(2, 67, 60, 0, 960) + note(2, 71, 60, 960, 1920)
    t3 += [prog(1920, 2, 56)] + note(2, 72, 100, 1920, 2880) + note(2, 74, 100, 2880, 3840)
    files["programs"] = mido_file(480, [[meta(0, "set_tempo", tempo=500000)], t1, t2, t3])

    # 6. time-signature changes 4/4 -> 3/4 -> 6/8 -> 5/8 (unsupported by miditok) -> 4/4, key signatures.
    t0 = [meta(0, "set_tempo", tempo=500000), meta(0, "time_signature", numerator=4, denominator=4),
          meta(1920, "time_signature", numerator=3, denominator=4), meta(3360, "time_signature", numerator=6, denominator=8),
          meta(4800, "time_signature", numerator=5, denominator=8), meta(6000, "time_signature", numerator=4, denominator=4),
          meta(0, "key_signature", key="D"), meta(3360, "key_signature", key="Bbm")]
    t1 = [prog(0, 0, 73)]
    tick = 0
    while tick < 7800:
        d = rng.choice([120, 240, 360, 480])
        t1 += note(0, rng.randint(62, 86), rng.randint(40, 120), tick, tick + d)
        tick += d
    files["timesig_changes"] = mido_file(480, [t0, t1])

    # 7. sustain pedal: notes under pedal intervals, a pedal still down at the end.
    t1 = [prog(0, 0, 0), cc(0, 0, 64, 0)]
    t1 += note(0, 60, 100, 0, 120) + note(0, 64, 80, 240, 360) + note(0, 67, 90, 480, 600)
    t1 += [cc(100, 0, 64, 127), cc(900, 0, 64, 0)]
    t1 += note(0, 60, 50, 960, 1000) + note(0, 62, 110, 1100, 1200)
    t1 += [cc(980, 0, 64, 70), cc(1300, 0, 64, 63), cc(1400, 0, 64, 64)]
    t1 += note(0, 72, 70, 1500, 1600) + note(0, 72, 90, 1700, 1750)
    files["pedal"] = mido_file(480, [[meta(0, "set_tempo", tempo=500000)], t1])

    # 8. SMPTE division 25 fps x 40 ticks per frame (bytes E7 28), raw bytes; ticks are milliseconds.
    trk = b"\x00\xc0\x0b"
    evs = []
    for i, (p, s, e) in enumerate([(60, 0, 250), (64, 250, 500), (67, 500, 1000), (72, 1000, 1010), (48, 0, 1500)]):
        evs += [(s, bytes([0x90, p, 90 - i * 10])), (e, bytes([0x80, p, 0]))]
    evs.sort(key=lambda e: e[0])
    last = 0
    for t, m in evs:
        trk += vlq(t - last) + m
        last = t
    trk += EOT
    files["smpte"] = smf(0, b"\xe7\x28", [trk])

    # 9. format 2: two patterns with their own tempos, raw bytes.
    p0 = tempo_ev(0, 500000) + b"\x00\xc0\x00"
    p0 += b"\x00\x90\x3c\x50" + b"\x83\x60\x80\x3c\x00" + b"\x00\x90\x40\x50" + b"\x83\x60\x80\x40\x00" + EOT
    p1 = tempo_ev(0, 1000000) + b"\x00\xc1\x28"
    p1 += b"\x00\x91\x43\x46" + b"\x83\x60\x81\x43\x00" + b"\x00\x91\x47\x46" + b"\x87\x40\x81\x47\x00" + EOT
    files["format2"] = smf(2, struct.pack(">H", 480), [p0, p1])
    files["_format2_p0"] = smf(0, struct.pack(">H", 480), [p0])
    files["_format2_p1"] = smf(0, struct.pack(">H", 480), [p1])

    # 10. zero-length, unterminated and spurious notes.
    t1 = [prog(0, 0, 0)] + note(0, 60, 90, 0, 480) + [on(480, 0, 62, 70), off(480, 0, 62)]
    t1 += [on(960, 0, 65, 80)] + [off(1000, 0, 70)] + note(0, 67, 100, 960, 1440)
    files["zero_unterminated"] = mido_file(480, [[meta(0, "set_tempo", tempo=500000)], t1])

    # 11. pitch bends.
    t1 = [prog(0, 0, 81)] + note(0, 60, 100, 0, 1920) + note(0, 72, 80, 960, 1920)
    t1 += [(240, mido.Message("pitchwheel", channel=0, pitch=4096)), (480, mido.Message("pitchwheel", channel=0, pitch=-6000)),
           (720, mido.Message("pitchwheel", channel=0, pitch=8191)), (1200, mido.Message("pitchwheel", channel=0, pitch=0))]
    files["pitch_bend"] = mido_file(480, [[meta(0, "set_tempo", tempo=500000)], t1])

    # 12. pitch / velocity edges for miditok, tpq 96, drums 26/27/88/89.
    t1 = [prog(0, 0, 0)]
    for i, (p, v) in enumerate([(20, 1), (21, 5), (60, 9), (109, 126), (110, 127), (64, 64), (65, 2), (66, 3)]):
        t1 += note(0, p, v, i * 48, i * 48 + 36)
    t2 = []
    for i, p in enumerate([26, 27, 36, 88, 89]):
        t2 += note(9, p, 100, i * 24, i * 24 + 12)
    files["edges"] = mido_file(96, [[meta(0, "set_tempo", tempo=500000)], t1, t2])

    # 13. long notes and rests, tpq 1000: 20-beat note, 30-beat rest, half-grid onsets, non-sorted simultaneous notes.
    t1 = [prog(0, 0, 0)] + note(0, 48, 80, 0, 20000)
    t1 += [on(0, 0, 60, 70), on(0, 0, 64, 71), on(0, 0, 55, 72), off(1000, 0, 60), off(1000, 0, 64), off(1000, 0, 55)]
    t1 += note(0, 62, 90, 1062, 1500) + note(0, 63, 90, 1187, 1300) + note(0, 65, 90, 50000, 51000)
    files["long_notes"] = mido_file(1000, [[meta(0, "set_tempo", tempo=500000)], t1])

    # 14. a seeded multi-track piece, tpq 384, tempo change, drums.
    t0 = [meta(0, "set_tempo", tempo=545454), meta(0, "time_signature", numerator=3, denominator=4),
          meta(3456, "set_tempo", tempo=480000), meta(0, "key_signature", key="Em")]
    tracks = [t0]
    for ch, pr, lo, hi in [(0, 0, 55, 79), (1, 40, 60, 84), (9, 0, 35, 51)]:
        t = [prog(0, ch, pr)] if ch != 9 else []
        tick = 0
        while tick < 6912:
            d = rng.choice([96, 192, 288, 384])
            dur = max(24, d - rng.choice([0, 24, 48]))
            t += note(ch, rng.randint(lo, hi), rng.randint(30, 127), tick, tick + dur)
            if ch == 0 and rng.random() < 0.3:
                t += note(ch, rng.randint(lo, hi), rng.randint(30, 127), tick, tick + dur // 2)
            tick += d
        tracks.append(t)
    files["mixed"] = mido_file(384, tracks)
    return files


def sparse(roll):
    p, t = np.nonzero(roll)
    return {"shape": list(roll.shape), "nz": [[int(a), int(b), float(roll[a, b])] for a, b in zip(p, t)]}


def pretty_golden(b):
    pm = pretty_midi.PrettyMIDI(io.BytesIO(b))
    out = {
        "instruments": [
            {
                "program": int(i.program),
                "is_drum": bool(i.is_drum),
                "notes": [[n.start, n.end, int(n.pitch), int(n.velocity)] for n in i.notes],
                "controls": [[c.time, int(c.number), int(c.value)] for c in i.control_changes],
                "bends": [[b_.time, int(b_.pitch)] for b_ in i.pitch_bends],
            }
            for i in pm.instruments
        ],
        "end_time": pm.get_end_time(),
        "rolls": {},
        "chroma": {},
    }
    for fs in FS:
        out["rolls"][str(fs)] = sparse(pm.get_piano_roll(fs=fs))
    out["rolls"]["100_nopedal"] = sparse(pm.get_piano_roll(fs=100, pedal_threshold=None))
    out["chroma"]["100"] = sparse(pm.get_chroma(fs=100))
    return out


def symusic_notes(score):
    return [
        {
            "program": int(t.program),
            "is_drum": bool(t.is_drum),
            "notes": [[int(n.time), int(n.duration), int(n.pitch), int(n.velocity)] for n in t.notes],
        }
        for t in score.tracks
    ]


def miditok_golden(b):
    out = {}
    score = symusic.Score.from_midi(b)
    out["symusic"] = {"tpq": int(score.ticks_per_quarter), "tracks": symusic_notes(score)}
    for name, cls in [("remi", miditok.REMI), ("midilike", miditok.MIDILike)]:
        tok = cls(miditok.TokenizerConfig())
        pre = tok.preprocess_score(score.copy())
        seqs = tok.encode(score.copy())
        tokens = [list(s.tokens) for s in seqs]
        ids = [list(s.ids) for s in seqs]
        dec = tok.decode(seqs)
        out[name] = {
            "preprocessed": {"tpq": int(pre.ticks_per_quarter), "tracks": symusic_notes(pre)},
            "tokens": tokens,
            "ids": ids,
            "decoded": {"tpq": int(dec.ticks_per_quarter), "tracks": symusic_notes(dec),
                        "tempos": [[int(t.time), float(t.qpm)] for t in dec.tempos],
                        "time_sigs": [[int(t.time), int(t.numerator), int(t.denominator)] for t in dec.time_signatures]},
        }
    return out


def main():
    os.makedirs(MIDI, exist_ok=True)
    files = build_files()
    golden = {"versions": {"mido": _v("mido"), "pretty_midi": "0.2.11.post0", "symusic": _v("symusic"),
                           "miditok": _v("miditok"), "numpy": np.__version__}, "files": {}}
    for name, b in files.items():
        if name.startswith("_"):
            continue
        with open(os.path.join(MIDI, name + ".mid"), "wb") as f:
            f.write(b)
        g = {}
        if name == "smpte":
            # the metrically identical file: tpq 500 at 120 qpm
            mf = mido.MidiFile(file=io.BytesIO(b))
            mf.ticks_per_beat = 500
            buf = io.BytesIO()
            mf.save(file=buf)
            g["pretty_midi"] = pretty_golden(buf.getvalue())
        elif name == "format2":
            g["patterns"] = [pretty_golden(files["_format2_p0"]), pretty_golden(files["_format2_p1"])]
        else:
            g["pretty_midi"] = pretty_golden(b)
            g["miditok"] = miditok_golden(b)
        golden["files"][name] = g
    vocab = {}
    for name, cls in [("remi", miditok.REMI), ("midilike", miditok.MIDILike)]:
        tok = cls(miditok.TokenizerConfig())
        vocab[name] = sorted(tok.vocab.items(), key=lambda kv: kv[1])
    golden["vocab"] = vocab
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
