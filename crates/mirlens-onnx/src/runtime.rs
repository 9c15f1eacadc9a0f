//! Finding and loading the ONNX Runtime shared library.
//!
//! mirlens links ONNX Runtime dynamically (`ort`'s `load-dynamic`): nothing is downloaded at build time, and the
//! library comes from the `onnxruntime` PyPI wheel. The search order is:
//!
//! 1. an explicit path ([`RuntimeSearch::explicit`]);
//! 2. the `ORT_DYLIB_PATH` environment variable — when it is set, it must name an existing file (no fallback);
//! 3. the active virtual environment, `$VIRTUAL_ENV/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*`;
//! 4. a `.venv` folder in the working directory or any of its parents, same layout.
//!
//! A process holds one ONNX Runtime library; asking for a different one later is [`OnnxError::RuntimeConflict`].

use crate::error::{OnnxError, RuntimeOrigin};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Environment variable naming the ONNX Runtime shared library.
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// The ONNX Runtime version the crate is built against (`ort` feature `api-31` needs ≥ 1.31).
pub const ORT_VERSION: &str = "1.31.1";

/// Where to look for the ONNX Runtime library. [`RuntimeSearch::from_env`] is the usual start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeSearch {
    /// A library path that overrides everything else.
    pub explicit: Option<PathBuf>,
    /// The value of `ORT_DYLIB_PATH` (empty values are treated as unset).
    pub env_path: Option<PathBuf>,
    /// The value of `VIRTUAL_ENV`.
    pub virtual_env: Option<PathBuf>,
    /// Folders whose `.venv` (and whose parents' `.venv`) are searched.
    pub search_from: Vec<PathBuf>,
}

/// A located runtime library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeLocation {
    /// Path of the shared library.
    pub path: PathBuf,
    /// How it was found.
    pub origin: RuntimeOrigin,
}

impl RuntimeSearch {
    /// The search described in the module docs, reading `ORT_DYLIB_PATH`, `VIRTUAL_ENV` and the working directory.
    pub fn from_env() -> Self {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        RuntimeSearch {
            explicit: None,
            env_path: var(DYLIB_ENV),
            virtual_env: var("VIRTUAL_ENV"),
            search_from: std::env::current_dir().into_iter().collect(),
        }
    }

    /// Use exactly this library file.
    pub fn explicit(path: impl Into<PathBuf>) -> Self {
        RuntimeSearch {
            explicit: Some(path.into()),
            ..Default::default()
        }
    }

    /// Also search `dir/.venv` and the `.venv` of each parent of `dir` (after the folders already listed).
    pub fn also_search(mut self, dir: impl Into<PathBuf>) -> Self {
        self.search_from.push(dir.into());
        self
    }

    /// Resolve the library path without loading it.
    pub fn locate(&self) -> Result<RuntimeLocation, OnnxError> {
        for (p, origin) in [
            (&self.explicit, RuntimeOrigin::Explicit),
            (&self.env_path, RuntimeOrigin::EnvVar),
        ] {
            if let Some(p) = p {
                if p.is_file() {
                    return Ok(RuntimeLocation {
                        path: p.clone(),
                        origin,
                    });
                }
                return Err(OnnxError::RuntimeFileMissing {
                    path: p.clone(),
                    origin,
                });
            }
        }
        let mut searched = Vec::new();
        if let Some(path) = self
            .virtual_env
            .as_ref()
            .and_then(|venv| find_in_venv(venv, &mut searched))
        {
            return Ok(RuntimeLocation {
                path,
                origin: RuntimeOrigin::VirtualEnv,
            });
        }
        let mut visited = std::collections::HashSet::new();
        for start in &self.search_from {
            for dir in start.ancestors() {
                let venv = dir.join(".venv");
                if !visited.insert(venv.clone()) {
                    continue;
                }
                if let Some(path) = find_in_venv(&venv, &mut searched) {
                    return Ok(RuntimeLocation {
                        path,
                        origin: RuntimeOrigin::LocalVenv,
                    });
                }
            }
        }
        Err(OnnxError::RuntimeNotFound { searched })
    }
}

/// `venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*` (or `.dylib`, `onnxruntime.dll`), the
/// highest version first. Records the folders it looked at.
fn find_in_venv(venv: &Path, searched: &mut Vec<PathBuf>) -> Option<PathBuf> {
    let mut capis = Vec::new();
    let lib = venv.join("lib");
    if let Ok(rd) = std::fs::read_dir(&lib) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with("python3") {
                capis.push(
                    e.path()
                        .join("site-packages")
                        .join("onnxruntime")
                        .join("capi"),
                );
            }
        }
    }
    capis.push(
        venv.join("Lib")
            .join("site-packages")
            .join("onnxruntime")
            .join("capi"),
    ); // Windows layout
    capis.sort();
    if !venv.is_dir() {
        searched.push(venv.to_path_buf());
        return None;
    }
    for capi in capis.iter().rev() {
        if !capi.is_dir() {
            continue;
        }
        searched.push(capi.clone());
        let mut libs: Vec<PathBuf> = std::fs::read_dir(capi)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .map(|n| is_runtime_library(&n.to_string_lossy()))
                    .unwrap_or(false)
            })
            .collect();
        libs.sort();
        if let Some(l) = libs.pop() {
            return Some(l);
        }
    }
    if !capis.iter().any(|c| c.is_dir()) {
        searched.push(venv.to_path_buf());
    }
    None
}

fn is_runtime_library(name: &str) -> bool {
    (name.starts_with("libonnxruntime.so")
        || (name.starts_with("libonnxruntime.") && name.ends_with(".dylib")))
        || name == "onnxruntime.dll"
}

/// A loaded ONNX Runtime: the library and an environment sessions are created in.
pub struct OnnxRuntime {
    location: RuntimeLocation,
    version: String,
    env: ort::environment::Environment,
}

impl std::fmt::Debug for OnnxRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxRuntime")
            .field("location", &self.location)
            .field("version", &self.version)
            .finish()
    }
}

static LOADED: Mutex<Option<Arc<OnnxRuntime>>> = Mutex::new(None);

impl OnnxRuntime {
    /// Locate (see [`RuntimeSearch`]) and load the library, or return the one this process already loaded.
    pub fn load(search: &RuntimeSearch) -> Result<Arc<OnnxRuntime>, OnnxError> {
        let loc = search.locate()?;
        let mut guard = LOADED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rt) = guard.as_ref() {
            if same_file(&rt.location.path, &loc.path) {
                return Ok(rt.clone());
            }
            return Err(OnnxError::RuntimeConflict {
                loaded: rt.location.path.clone(),
                requested: loc.path,
            });
        }
        let load_err = |message: String| OnnxError::RuntimeLoad {
            path: loc.path.clone(),
            message,
        };
        let builder = ort::init_from(&loc.path).map_err(|e| load_err(e.to_string()))?;
        let env = builder
            .with_name("mirlens")
            .build()
            .map_err(|e| load_err(e.to_string()))?;
        let version = version_from_file_name(&loc.path)
            .or_else(|| {
                ort::info().split(',').find_map(|kv| {
                    kv.trim()
                        .strip_prefix("git-branch=rel-")
                        .map(str::to_string)
                })
            })
            .unwrap_or_else(|| "unknown".into());
        let rt = Arc::new(OnnxRuntime {
            location: loc,
            version,
            env,
        });
        *guard = Some(rt.clone());
        Ok(rt)
    }

    /// Where the library was found.
    pub fn location(&self) -> &RuntimeLocation {
        &self.location
    }

    /// The runtime's version as reported by its build info (e.g. `1.31.1`), or `unknown`.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub(crate) fn environment(&self) -> &ort::environment::Environment {
        &self.env
    }
}

/// `libonnxruntime.so.1.31.1` → `1.31.1`, `libonnxruntime.1.31.1.dylib` → `1.31.1`.
fn version_from_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().to_string();
    let v = name.strip_prefix("libonnxruntime.so.").or_else(|| {
        name.strip_prefix("libonnxruntime.")
            .and_then(|r| r.strip_suffix(".dylib"))
    })?;
    (!v.is_empty()
        && v.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
    .then(|| v.to_string())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_venv(root: &Path, file: &str) -> PathBuf {
        let capi = root.join(".venv/lib/python3.11/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        std::fs::write(capi.join("libonnxruntime_providers_shared.so"), b"x").unwrap();
        let lib = capi.join(file);
        std::fs::write(&lib, b"x").unwrap();
        lib
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mirlens-onnx-rt-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn finds_the_library_in_a_parent_venv() {
        let root = tmp("parent");
        let lib = fake_venv(&root, "libonnxruntime.so.1.31.1");
        let deep = root.join("crates/x");
        std::fs::create_dir_all(&deep).unwrap();
        let s = RuntimeSearch {
            search_from: vec![deep],
            ..Default::default()
        };
        let loc = s.locate().unwrap();
        assert_eq!(
            loc,
            RuntimeLocation {
                path: lib,
                origin: RuntimeOrigin::LocalVenv
            }
        );
    }

    #[test]
    fn env_var_wins_and_a_missing_env_file_is_an_error_not_a_fallback() {
        let root = tmp("env");
        fake_venv(&root, "libonnxruntime.so.1.31.1");
        let s = RuntimeSearch {
            env_path: Some(root.join("nope.so")),
            search_from: vec![root.clone()],
            ..Default::default()
        };
        match s.locate() {
            Err(OnnxError::RuntimeFileMissing { path, origin }) => {
                assert_eq!(path, root.join("nope.so"));
                assert_eq!(origin, RuntimeOrigin::EnvVar);
            }
            other => panic!("expected RuntimeFileMissing, got {other:?}"),
        }
    }

    #[test]
    fn nothing_found_lists_the_places_and_the_install_command() {
        let root = tmp("none");
        let s = RuntimeSearch {
            search_from: vec![root.clone()],
            ..Default::default()
        };
        let e = s.locate().unwrap_err();
        match &e {
            OnnxError::RuntimeNotFound { searched } => {
                assert!(searched.contains(&root.join(".venv")))
            }
            other => panic!("expected RuntimeNotFound, got {other:?}"),
        }
        let msg = e.to_string();
        assert!(msg.contains("pip install onnxruntime==1.31.1"), "{msg}");
        assert!(msg.contains("ORT_DYLIB_PATH"), "{msg}");
    }

    #[test]
    fn version_is_read_from_the_file_name() {
        assert_eq!(
            version_from_file_name(Path::new("/x/libonnxruntime.so.1.31.1")).as_deref(),
            Some("1.31.1")
        );
        assert_eq!(
            version_from_file_name(Path::new("libonnxruntime.1.31.1.dylib")).as_deref(),
            Some("1.31.1")
        );
        assert_eq!(version_from_file_name(Path::new("libonnxruntime.so")), None);
    }

    #[test]
    fn library_names_exclude_provider_plugins() {
        assert!(is_runtime_library("libonnxruntime.so.1.31.1"));
        assert!(is_runtime_library("libonnxruntime.so"));
        assert!(is_runtime_library("libonnxruntime.1.31.1.dylib"));
        assert!(!is_runtime_library("libonnxruntime_providers_shared.so"));
    }
}
