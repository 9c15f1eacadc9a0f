//! Registry: built-in cards, resolution from a directory, a card's local path and an offline HF-cache tree.

use mirlens_core::LayerSelection;
use mirlens_models::registry::Source;
use mirlens_models::{
    CandleEncoder, EncodeOptions, Encoder, LoadOptions, ModelError, ModelType, Registry,
};
use mirlens_test_support::golden_dir;

#[test]
fn builtin_cards_cover_the_required_models() {
    let r = Registry::builtin().unwrap();
    for name in [
        "MERT-v1-95M",
        "MERT-v1-330M",
        "hubert-base-ls960",
        "wav2vec2-base",
        "tiny-hubert-group-postln",
    ] {
        assert!(r.card(name).is_some(), "{name}");
    }
    let m = r.card("m-a-p/MERT-v1-330M").unwrap();
    assert_eq!(
        (m.sample_rate, m.layers, m.hidden_size, m.frame_rate),
        (24_000, 24, 1024, 75.0)
    );
    let h = r.card("hubert-base-ls960").unwrap();
    assert_eq!((h.sample_rate, h.layers, h.frame_rate), (16_000, 12, 50.0));
}

#[test]
fn tiny_cards_agree_with_their_checkpoints() {
    let r = Registry::builtin().unwrap();
    for card in r.cards().iter().filter(|c| c.local_path.is_some()) {
        let m = r.resolve(&card.name).unwrap();
        assert_eq!(m.source, Source::CardLocalPath);
        if mirlens_models::text::config::is_text_model_type(&card.architecture) {
            // token models (the shipped LMs): layers, width and architecture; no rates
            let t = mirlens_models::TextModel::load(&m.dir, &LoadOptions::default()).unwrap();
            let c = t.config();
            assert_eq!(
                (
                    c.arch.num_layers(),
                    c.arch.hidden_size(),
                    c.arch.model_type()
                ),
                (card.layers, card.hidden_size, card.architecture.as_str()),
                "{}",
                card.name
            );
            assert_eq!(
                (card.sample_rate, card.frame_rate),
                (0, 0.0),
                "{}",
                card.name
            );
            continue;
        }
        let enc = CandleEncoder::load(&m.dir, &LoadOptions::default()).unwrap();
        let s = enc.spec();
        assert_eq!(
            (s.sample_rate, s.num_layers, s.hidden_size),
            (card.sample_rate, card.layers, card.hidden_size),
            "{}",
            card.name
        );
        assert!(
            (s.frame_rate - card.frame_rate).abs() < 1e-9,
            "{}",
            card.name
        );
        assert_eq!(
            ModelType::from_hf(&card.architecture),
            Some(enc.config().model_type),
            "{}",
            card.name
        );
    }
}

fn copy_model(src: &std::path::Path, dst: &std::path::Path) {
    std::fs::create_dir_all(dst).unwrap();
    for f in [
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
    ] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
}

#[test]
fn resolves_from_an_offline_hf_cache_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = tmp.path().join("hub");
    let card_path = tmp.path().join("cards.toml");
    std::fs::write(
        &card_path,
        r#"[[model]]
name = "cached-hubert"
hf_repo = "someone/cached-hubert"
revision = "main"
architecture = "hubert"
sample_rate = 16000
frame_rate = 50.0
layers = 2
hidden_size = 32
licence = "MIT"
input_normalisation = "none"
"#,
    )
    .unwrap();
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let repo = hub.join("models--someone--cached-hubert");
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs").join("main"), format!("{commit}\n")).unwrap();
    let snap = repo.join("snapshots").join(commit);
    let mut reg = Registry::builtin().unwrap().with_hf_cache(&hub);
    reg.add_cards_file(&card_path).unwrap();

    // Before the snapshot exists: a clear error naming the places looked and the fetch command.
    let e = reg.resolve("cached-hubert").unwrap_err();
    match &e {
        ModelError::ModelNotFound { searched, hint, .. } => {
            assert!(
                searched
                    .iter()
                    .any(|p| p.ends_with(format!("snapshots/{commit}"))),
                "{searched:?}"
            );
            assert!(
                hint.contains("huggingface-cli download someone/cached-hubert --revision main"),
                "{hint}"
            );
        }
        other => panic!("{other:?}"),
    }

    copy_model(&golden_dir("encoders").join("hubert_group_postln"), &snap);
    let m = reg.resolve("cached-hubert").unwrap();
    assert_eq!(m.source, Source::HfCache);
    assert_eq!(m.dir, snap);
    // The cached model gives the same numbers as the original directory.
    let a = CandleEncoder::load(&m.dir, &LoadOptions::default()).unwrap();
    let b = CandleEncoder::load(
        golden_dir("encoders").join("hubert_group_postln"),
        &LoadOptions::default(),
    )
    .unwrap();
    let x: Vec<f32> = (0..640).map(|i| (i as f32 * 0.01).cos()).collect();
    let sel = LayerSelection::All;
    assert_eq!(
        a.encode(&x, &sel, &EncodeOptions::default()).unwrap(),
        b.encode(&x, &sel, &EncodeOptions::default()).unwrap()
    );
    // A directory path resolves as itself.
    let d = reg.resolve(snap.to_str().unwrap()).unwrap();
    assert_eq!(d.source, Source::Directory);
}

#[test]
fn unknown_name_lists_known_models() {
    let reg = Registry::builtin()
        .unwrap()
        .with_hf_cache(tempfile::tempdir().unwrap().path());
    match reg.resolve("no-such-model") {
        Err(ModelError::ModelNotFound { hint, .. }) => {
            assert!(hint.contains("MERT-v1-95M"), "{hint}")
        }
        other => panic!("{other:?}"),
    }
}

#[cfg(not(feature = "hub"))]
#[test]
fn real_model_offline_error_names_cache_and_conversion() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::builtin().unwrap().with_hf_cache(tmp.path());
    let e = reg.resolve("MERT-v1-95M").unwrap_err().to_string();
    assert!(e.contains("models--m-a-p--MERT-v1-95M"), "{e}");
    assert!(e.contains("pytorch_model.bin"), "{e}");
    assert!(e.contains("--features hub"), "{e}");
    assert!(
        e.contains("weights_only=True") && !e.contains("trust_remote_code"),
        "{e}"
    );
}
