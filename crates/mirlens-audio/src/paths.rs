//! Paths of inputs and outputs.
//!
//! - [`check_regular_file`] refuses a path that is not a regular file (a FIFO, socket or device) *before* it is
//!   opened: opening a named pipe for reading blocks until a writer appears, so a stray FIFO in an input folder
//!   would hang a whole run.
//! - [`safe_name`] turns a name derived from an input (a file stem, a folder-relative path, a label) into one path
//!   component that stays inside the output folder it is joined onto: no separators, no `.`/`..`, no leading dot,
//!   no control characters, at most [`MAX_NAME_BYTES`] bytes.
//! - [`UniqueNames`] hands out such names without collisions (case-insensitively, for case-folding file systems):
//!   the second `x` becomes `x-2`, and so on.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Longest name [`safe_name`] returns, in bytes (file systems allow 255; room is left for suffixes and extensions).
pub const MAX_NAME_BYTES: usize = 160;

/// A path that cannot be read as an ordinary file.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// The path does not exist.
    #[error("{path}: file not found")]
    NotFound {
        /// The path.
        path: PathBuf,
    },
    /// The path exists but is a FIFO, socket, device or folder.
    #[error("{path}: not a regular file ({kind}); refusing to read it")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// Its metadata could not be read.
    #[error("{path}: cannot read file metadata")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// What kind of file system object `meta` describes, in words.
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_file() {
        return "regular file";
    }
    if t.is_dir() {
        return "folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "named pipe (FIFO)";
        }
        if t.is_socket() {
            return "socket";
        }
        if t.is_block_device() {
            return "block device";
        }
        if t.is_char_device() {
            return "character device";
        }
    }
    "special file"
}

/// Fail unless `path` is a regular file (following symbolic links). Never opens the path, so it never blocks.
pub fn check_regular_file(path: &Path) -> Result<(), PathError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(m) => Err(PathError::NotRegular {
            path: path.to_path_buf(),
            kind: file_kind(&m),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(PathError::NotFound {
            path: path.to_path_buf(),
        }),
        Err(source) => Err(PathError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Read a whole text file after [`check_regular_file`] (so a FIFO is refused instead of blocking).
pub fn read_regular_to_string(path: &Path) -> Result<String, PathError> {
    check_regular_file(path)?;
    std::fs::read_to_string(path).map_err(|source| PathError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// One safe path component made from `raw` (see the module docs). Deterministic; returns `raw` unchanged when it
/// is already safe. Path separators (`/`, `\`), `:`, NUL and other control characters become `_`; a leading `.`
/// becomes `_` (so `.`, `..`, `..wav`'s stem `.` and hidden names are all neutralised); an empty name becomes `_`;
/// a name longer than [`MAX_NAME_BYTES`] is cut at a character boundary.
pub fn safe_name(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c == ':' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    // Trailing dots and spaces are dropped silently by some file systems: keep names distinct by marking them.
    if s.ends_with('.') || s.ends_with(' ') {
        s.push('_');
    }
    if s.len() > MAX_NAME_BYTES {
        let mut cut = MAX_NAME_BYTES;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    if s.is_empty() {
        s.push('_');
    }
    s
}

/// Hands out [`safe_name`]s that never repeat (compared case-insensitively): the first `x` stays `x`, later ones
/// become `x-2`, `x-3`, … (skipping any suffix already taken).
#[derive(Debug, Default, Clone)]
pub struct UniqueNames {
    taken: HashSet<String>,
}

impl UniqueNames {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Mark `name` (already safe) as taken without handing it out, e.g. a fixed output name of the command.
    pub fn reserve(&mut self, name: &str) {
        self.taken.insert(name.to_lowercase());
    }

    /// A safe, not yet used name for `raw`.
    pub fn claim(&mut self, raw: &str) -> String {
        let base = safe_name(raw);
        if self.taken.insert(base.to_lowercase()) {
            return base;
        }
        let mut n = 2usize;
        loop {
            let cand = format!("{base}-{n}");
            if self.taken.insert(cand.to_lowercase()) {
                return cand;
            }
            n += 1;
        }
    }
}

/// Whether `name` is one plain path component: joined onto a folder, the result is a direct child of it.
pub fn is_single_component(name: &str) -> bool {
    let mut it = Path::new(name).components();
    matches!(
        (it.next(), it.next()),
        (Some(std::path::Component::Normal(_)), None)
    ) && !name.contains('/')
        && !name.contains('\\')
}
