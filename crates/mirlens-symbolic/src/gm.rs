//! General MIDI programs: names, the 16 GM families and the mirlens NSynth-family convention.
//!
//! Programs are 0-based (as in files). Names and families are pretty_midi 0.2.11's `INSTRUMENT_MAP` and
//! `INSTRUMENT_CLASSES`; the NSynth column is a mirlens convention (NSynth instruments come from sample libraries,
//! not GM programs): programs with no clear NSynth family map to `None` and are excluded from family probes.

/// GM program names, index = program.
pub const PROGRAM_NAMES: [&str; 128] = [
    "Acoustic Grand Piano",
    "Bright Acoustic Piano",
    "Electric Grand Piano",
    "Honky-tonk Piano",
    "Electric Piano 1",
    "Electric Piano 2",
    "Harpsichord",
    "Clavinet",
    "Celesta",
    "Glockenspiel",
    "Music Box",
    "Vibraphone",
    "Marimba",
    "Xylophone",
    "Tubular Bells",
    "Dulcimer",
    "Drawbar Organ",
    "Percussive Organ",
    "Rock Organ",
    "Church Organ",
    "Reed Organ",
    "Accordion",
    "Harmonica",
    "Tango Accordion",
    "Acoustic Guitar (nylon)",
    "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)",
    "Electric Guitar (clean)",
    "Electric Guitar (muted)",
    "Overdriven Guitar",
    "Distortion Guitar",
    "Guitar Harmonics",
    "Acoustic Bass",
    "Electric Bass (finger)",
    "Electric Bass (pick)",
    "Fretless Bass",
    "Slap Bass 1",
    "Slap Bass 2",
    "Synth Bass 1",
    "Synth Bass 2",
    "Violin",
    "Viola",
    "Cello",
    "Contrabass",
    "Tremolo Strings",
    "Pizzicato Strings",
    "Orchestral Harp",
    "Timpani",
    "String Ensemble 1",
    "String Ensemble 2",
    "Synth Strings 1",
    "Synth Strings 2",
    "Choir Aahs",
    "Voice Oohs",
    "Synth Choir",
    "Orchestra Hit",
    "Trumpet",
    "Trombone",
    "Tuba",
    "Muted Trumpet",
    "French Horn",
    "Brass Section",
    "Synth Brass 1",
    "Synth Brass 2",
    "Soprano Sax",
    "Alto Sax",
    "Tenor Sax",
    "Baritone Sax",
    "Oboe",
    "English Horn",
    "Bassoon",
    "Clarinet",
    "Piccolo",
    "Flute",
    "Recorder",
    "Pan Flute",
    "Blown bottle",
    "Shakuhachi",
    "Whistle",
    "Ocarina",
    "Lead 1 (square)",
    "Lead 2 (sawtooth)",
    "Lead 3 (calliope)",
    "Lead 4 chiff",
    "Lead 5 (charang)",
    "Lead 6 (voice)",
    "Lead 7 (fifths)",
    "Lead 8 (bass + lead)",
    "Pad 1 (new age)",
    "Pad 2 (warm)",
    "Pad 3 (polysynth)",
    "Pad 4 (choir)",
    "Pad 5 (bowed)",
    "Pad 6 (metallic)",
    "Pad 7 (halo)",
    "Pad 8 (sweep)",
    "FX 1 (rain)",
    "FX 2 (soundtrack)",
    "FX 3 (crystal)",
    "FX 4 (atmosphere)",
    "FX 5 (brightness)",
    "FX 6 (goblins)",
    "FX 7 (echoes)",
    "FX 8 (sci-fi)",
    "Sitar",
    "Banjo",
    "Shamisen",
    "Koto",
    "Kalimba",
    "Bagpipe",
    "Fiddle",
    "Shanai",
    "Tinkle Bell",
    "Agogo",
    "Steel Drums",
    "Woodblock",
    "Taiko Drum",
    "Melodic Tom",
    "Synth Drum",
    "Reverse Cymbal",
    "Guitar Fret Noise",
    "Breath Noise",
    "Seashore",
    "Bird Tweet",
    "Telephone Ring",
    "Helicopter",
    "Applause",
    "Gunshot",
];

/// The 16 GM families, index = program / 8.
pub const GM_FAMILIES: [&str; 16] = [
    "Piano",
    "Chromatic Percussion",
    "Organ",
    "Guitar",
    "Bass",
    "Strings",
    "Ensemble",
    "Brass",
    "Reed",
    "Pipe",
    "Synth Lead",
    "Synth Pad",
    "Synth Effects",
    "Ethnic",
    "Percussive",
    "Sound Effects",
];

/// The 11 NSynth instrument families, index = NSynth family id.
pub const NSYNTH_FAMILIES: [&str; 11] = [
    "bass",
    "brass",
    "flute",
    "guitar",
    "keyboard",
    "mallet",
    "organ",
    "reed",
    "string",
    "synth_lead",
    "vocal",
];

/// GM family index (0–15) of a program (`program / 8`; programs above 127 are clamped).
pub fn gm_family(program: u8) -> usize {
    (program.min(127) / 8) as usize
}

/// GM family name of a program.
pub fn gm_family_name(program: u8) -> &'static str {
    GM_FAMILIES[gm_family(program)]
}

/// GM program name.
pub fn program_name(program: u8) -> &'static str {
    PROGRAM_NAMES[program.min(127) as usize]
}

/// NSynth family id (0–10) of a melodic GM program under the mirlens convention, `None` where no family fits.
/// Drums have no NSynth family: callers pass melodic programs only.
pub fn nsynth_family(program: u8) -> Option<usize> {
    const BASS: usize = 0;
    const BRASS: usize = 1;
    const FLUTE: usize = 2;
    const GUITAR: usize = 3;
    const KEYBOARD: usize = 4;
    const MALLET: usize = 5;
    const ORGAN: usize = 6;
    const REED: usize = 7;
    const STRING: usize = 8;
    const SYNTH_LEAD: usize = 9;
    const VOCAL: usize = 10;
    Some(match program {
        0..=7 => KEYBOARD,
        8..=15 => MALLET,
        16..=20 => ORGAN,
        21..=23 => REED,
        24..=31 => GUITAR,
        32..=39 => BASS,
        40..=46 => STRING,
        47 => return None,
        48..=51 => STRING,
        52..=54 => VOCAL,
        55 => return None,
        56..=63 => BRASS,
        64..=71 => REED,
        72..=79 => FLUTE,
        80..=87 => SYNTH_LEAD,
        88..=103 => return None,
        104..=107 => GUITAR,
        108 => MALLET,
        109 | 111 => REED,
        110 => STRING,
        112 | 114 => MALLET,
        _ => return None,
    })
}

/// NSynth family name of a program, `None` where no family fits.
pub fn nsynth_family_name(program: u8) -> Option<&'static str> {
    nsynth_family(program).map(|f| NSYNTH_FAMILIES[f])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_follow_the_reference_table() {
        assert_eq!(gm_family_name(0), "Piano");
        assert_eq!(gm_family_name(47), "Strings");
        assert_eq!(gm_family_name(127), "Sound Effects");
        assert_eq!(program_name(40), "Violin");
        let want: [(u8, Option<&str>); 14] = [
            (0, Some("keyboard")),
            (7, Some("keyboard")),
            (12, Some("mallet")),
            (19, Some("organ")),
            (21, Some("reed")),
            (33, Some("bass")),
            (46, Some("string")),
            (47, None),
            (53, Some("vocal")),
            (55, None),
            (73, Some("flute")),
            (90, None),
            (108, Some("mallet")),
            (113, None),
        ];
        for (p, f) in want {
            assert_eq!(nsynth_family_name(p), f, "program {p}");
        }
        let mapped = (0..=127u8).filter(|&p| nsynth_family(p).is_some()).count();
        // 128 − 47 − 55 − 88..=103 (16) − 113, 115..=127 (14)
        assert_eq!(mapped, 128 - 1 - 1 - 16 - 14);
    }
}
