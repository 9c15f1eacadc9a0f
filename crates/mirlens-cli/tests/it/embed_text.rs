//! `mirlens embed --text` / `--text-file` and `mirlens models show` on token models it has never seen: tiny random
//! checkpoints saved by transformers 5.23.0 with tokenizers trained beside them (`tests/golden/text_lms`). The
//! arrays must equal transformers' hidden states for the same text (ids from `AutoTokenizer`).

use mirlens_core::Tolerance;
use mirlens_test_support::golden::Golden;
use mirlens_test_support::{assert_close, golden_dir};
use std::path::Path;
use std::process::Command;

fn mirlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

/// Read a float32 `.npy` file: (shape, data).
fn read_npy(p: &Path) -> (Vec<usize>, Vec<f32>) {
    let b = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(&b[10..10 + hl]).unwrap();
    let shape_txt = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape = shape_txt
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let data = b[10 + hl..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (shape, data)
}

const TOL: Tolerance = Tolerance {
    name: "text-lm",
    atol: 2e-5,
    rtol: 0.0,
};

#[test]
fn embed_text_matches_transformers_hidden_states() {
    for case in ["llama_gqa_tied", "gpt2_hub", "bert", "roberta"] {
        let dir = golden_dir("text_lms").join("models").join(case);
        let g = Golden::load(dir.join("text_expected.safetensors"));
        let text = g.metadata.get("text").unwrap().clone();
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let o = mirlens()
            .args(["embed", "--model"])
            .arg(&dir)
            .args(["--text", &text, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let folder = out.join("text");
        let tokens: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join("tokens.json")).unwrap())
                .unwrap();
        let ids: Vec<f32> = tokens["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(ids, g.get("input_ids").data, "{case}: token ids");
        let offs: Vec<f32> = tokens["offsets"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|o| {
                o.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
            })
            .collect();
        assert_eq!(offs, g.get("offsets").data, "{case}: character offsets");
        let hs = g.get("hidden_states");
        let (l1, t, d) = (hs.shape[0], hs.shape[1], hs.shape[2]);
        for l in 0..l1 {
            let (shape, data) = read_npy(&folder.join(format!("layer_{l:02}.npy")));
            assert_eq!(shape, [t, d], "{case} layer {l}");
            assert_close(
                &format!("{case} embed layer {l}"),
                &data,
                &hs.data[l * t * d..(l + 1) * t * d],
                TOL,
            );
        }
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join("meta.json")).unwrap())
                .unwrap();
        assert_eq!(meta["modality"], "text");
        let causal = case != "bert" && case != "roberta";
        let raw = folder.join(format!("layer_{:02}_before_final_norm.npy", l1 - 1));
        assert_eq!(raw.is_file(), causal, "{case}: raw last block output");
    }
}

#[test]
fn embed_text_file_mean_pool_and_models_show() {
    let dir = golden_dir("text_lms").join("models").join("gpt2_hub");
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("doc.txt");
    std::fs::write(&f, "The pianist played.\n昨日、演奏した。").unwrap();
    let out = tmp.path().join("out");
    let o = mirlens()
        .args(["embed", "--model"])
        .arg(&dir)
        .args(["--layers", "1", "--pool", "mean", "--text-file"])
        .arg(&f)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (shape, pooled) = read_npy(&out.join("doc").join("layer_01.npy"));
    assert_eq!(shape, [64]);
    // Equal to the mean over tokens of the unpooled array.
    let o = mirlens()
        .args(["embed", "--model"])
        .arg(&dir)
        .args(["--layers", "1", "--text-file"])
        .arg(&f)
        .arg("--out")
        .arg(tmp.path().join("full"))
        .output()
        .unwrap();
    assert!(o.status.success());
    let (shape, full) = read_npy(&tmp.path().join("full").join("doc").join("layer_01.npy"));
    let mean: Vec<f32> = (0..64)
        .map(|j| {
            (0..shape[0]).map(|r| full[r * 64 + j] as f64).sum::<f64>() as f32 / shape[0] as f32
        })
        .collect();
    assert_close("mean pool", &pooled, &mean, Tolerance::EXACT_F32);
    assert!(!out.join("doc").join("layer_00.npy").exists());

    let o = mirlens()
        .args(["models", "show"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("modality:            text"), "{s}");
    assert!(
        s.contains("ln_f(output of block L) = last_hidden_state"),
        "{s}"
    );
    assert!(s.contains("gpt2, 3 blocks x 64, vocabulary 512"), "{s}");
    // Audio inputs and --text together are refused.
    let o = mirlens()
        .args(["embed", "--model"])
        .arg(&dir)
        .args(["--text", "hi", "--out"])
        .arg(tmp.path().join("x"))
        .arg(&f)
        .output()
        .unwrap();
    assert!(!o.status.success());
}

#[test]
fn embed_text_files_with_dot_stems_stay_inside_out() {
    let dir = golden_dir("text_lms").join("models").join("gpt2_hub");
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("p");
    std::fs::create_dir_all(p.join("keep")).unwrap();
    std::fs::write(p.join("keep").join("precious.txt"), "data").unwrap();
    let out = p.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("mine.txt"), "user file").unwrap();
    let inp = tmp.path().join("in");
    std::fs::create_dir_all(&inp).unwrap();
    // stems `..` and `.`: joined onto --out unsanitised they would name p/ and out/ themselves
    for n in ["...txt", "..txt"] {
        std::fs::write(inp.join(n), "The pianist played.").unwrap();
    }
    for _ in 0..2 {
        let o = mirlens()
            .args(["embed", "--model"])
            .arg(&dir)
            .args(["--layers", "1", "--pool", "mean", "--text-file"])
            .arg(inp.join("...txt"))
            .arg("--text-file")
            .arg(inp.join("..txt"))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(
        std::fs::read_to_string(p.join("keep").join("precious.txt")).unwrap(),
        "data"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("mine.txt")).unwrap(),
        "user file"
    );
    let mut top: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["_", "_._", "mine.txt"]);
    assert!(out.join("_._").join("layer_01.npy").is_file());
}
