//! End-to-end tests of the `mirlens` binary.
