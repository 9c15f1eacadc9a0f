//! Workspace-level end-to-end tests live in `tests/` of this crate; this library is empty.
