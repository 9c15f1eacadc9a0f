//! Finding the ONNX Runtime library, and the error when it is missing.

use crate::{onnx_path, test_search};
use mirlens_onnx::{
    OnnxEncoder, OnnxError, OnnxOptions, OnnxRuntime, RuntimeOrigin, RuntimeSearch,
};

#[test]
fn the_test_runtime_is_found_and_is_the_pinned_version() {
    let loc = test_search().locate().unwrap_or_else(|e| panic!("{e}"));
    assert!(loc.path.is_file());
    let rt = OnnxRuntime::load(&test_search()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rt.location().path, loc.path);
    let name = loc.path.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("libonnxruntime"), "{name}");
    // the pinned wheel (libonnxruntime.so.1.31.1) or an unversioned name
    assert!(
        rt.version() == mirlens_onnx::ORT_VERSION || rt.version() == "unknown",
        "{}",
        rt.version()
    );
}

#[test]
fn ort_dylib_path_naming_a_missing_file_gives_the_install_instructions() {
    // the same resolution `RuntimeSearch::from_env` performs when ORT_DYLIB_PATH is set to this value
    let missing = std::env::temp_dir()
        .join("mirlens-no-such-dir")
        .join("libonnxruntime.so.1.31.1");
    let search = RuntimeSearch {
        env_path: Some(missing.clone()),
        ..test_search()
    };
    let opts = OnnxOptions {
        threads: 1,
        runtime: search,
        ..OnnxOptions::default()
    };
    let err = OnnxEncoder::load(onnx_path("hubert_group_postln"), &opts).unwrap_err();
    match &err {
        OnnxError::RuntimeFileMissing {
            path,
            origin: RuntimeOrigin::EnvVar,
        } => assert_eq!(path, &missing),
        other => panic!("expected RuntimeFileMissing from ORT_DYLIB_PATH, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("python3 -m pip install onnxruntime==1.31.1"),
        "{msg}"
    );
    assert!(msg.contains("ORT_DYLIB_PATH"), "{msg}");
    assert!(msg.contains("libonnxruntime.so.1.31.1"), "{msg}");
}

#[test]
fn no_library_anywhere_is_runtime_not_found() {
    let empty = std::env::temp_dir().join(format!("mirlens-onnx-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let search = RuntimeSearch {
        search_from: vec![empty.clone()],
        ..Default::default()
    };
    let opts = OnnxOptions {
        threads: 1,
        runtime: search,
        ..OnnxOptions::default()
    };
    match OnnxEncoder::load(onnx_path("hubert_group_postln"), &opts) {
        Err(e @ OnnxError::RuntimeNotFound { .. }) => {
            eprintln!("{e}");
            let OnnxError::RuntimeNotFound { searched } = &e else {
                unreachable!()
            };
            assert!(searched.contains(&empty.join(".venv")), "{searched:?}");
            assert!(
                e.to_string()
                    .contains("python3 -m pip install onnxruntime==1.31.1"),
                "{e}"
            );
        }
        other => panic!("expected RuntimeNotFound, got {other:?}"),
    }
}

#[test]
fn an_explicit_missing_library_is_reported_as_such() {
    let search = RuntimeSearch::explicit("/nonexistent/libonnxruntime.so");
    match OnnxRuntime::load(&search) {
        Err(OnnxError::RuntimeFileMissing {
            origin: RuntimeOrigin::Explicit,
            ..
        }) => {}
        other => panic!("expected RuntimeFileMissing, got {other:?}"),
    }
}
