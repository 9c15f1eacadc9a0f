//! Named tolerance tiers. Every parity test compares against one of these, and the README quotes them per feature.

use serde::{Deserialize, Serialize};

/// A named tolerance tier: a value `a` matches a reference `r` when `|a - r| <= atol + rtol * |r|`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    /// Tier name as quoted in the README.
    pub name: &'static str,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
}

impl Tolerance {
    /// Bit-for-bit up to f32 rounding of a few operations.
    pub const EXACT_F32: Tolerance = Tolerance {
        name: "exact-f32",
        atol: 1e-6,
        rtol: 1e-6,
    };
    /// Same algorithm, different summation order / FFT library (f32).
    pub const TIGHT: Tolerance = Tolerance {
        name: "tight",
        atol: 1e-5,
        rtol: 1e-4,
    };
    /// Neural-network forward passes in f32 (the encoder parity target).
    pub const ENCODER: Tolerance = Tolerance {
        name: "encoder",
        atol: 1e-4,
        rtol: 0.0,
    };
    /// Same maths through a different resampler (e.g. CQT octaves downsampled by a different filter).
    pub const RESAMPLED: Tolerance = Tolerance {
        name: "resampled",
        atol: 1e-3,
        rtol: 1e-2,
    };

    /// Whether `actual` matches `reference` within this tier.
    pub fn accepts(&self, actual: f64, reference: f64) -> bool {
        (actual - reference).abs() <= self.atol + self.rtol * reference.abs()
            || (actual.is_nan() && reference.is_nan())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_accept_and_reject() {
        assert!(Tolerance::TIGHT.accepts(1.00005, 1.0));
        assert!(!Tolerance::TIGHT.accepts(1.001, 1.0));
        assert!(Tolerance::ENCODER.accepts(0.5 + 9e-5, 0.5));
        assert!(!Tolerance::ENCODER.accepts(0.5 + 2e-4, 0.5));
        assert!(Tolerance::EXACT_F32.accepts(f64::NAN, f64::NAN));
    }
}
