//! Analysis windows with `scipy.signal.get_window` semantics.

use super::{FrontendError, invalid};
use std::f64::consts::PI;

/// Window shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WindowKind {
    /// Hann (raised cosine): `0.5 − 0.5·cos(2πn/M)`.
    #[default]
    Hann,
    /// Hamming: `0.54 − 0.46·cos(2πn/M)`.
    Hamming,
    /// Blackman: `0.42 − 0.5·cos(2πn/M) + 0.08·cos(4πn/M)`.
    Blackman,
    /// Rectangular (all ones; librosa `window='ones'`).
    Rectangular,
}

/// Periodic (DFT-even, `fftbins=True`, librosa's and torch's default) or symmetric (filter design) windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Symmetry {
    /// `M = N`: the window of length `N + 1` with its last sample dropped.
    #[default]
    Periodic,
    /// `M = N − 1`: symmetric around its centre.
    Symmetric,
}

/// A window specification: shape and symmetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WindowSpec {
    /// Shape.
    pub kind: WindowKind,
    /// Periodic or symmetric.
    pub symmetry: Symmetry,
}

impl WindowSpec {
    /// Periodic Hann (the librosa and torch default).
    pub const HANN: WindowSpec = WindowSpec {
        kind: WindowKind::Hann,
        symmetry: Symmetry::Periodic,
    };

    /// The window of length `n` in f64.
    pub fn build(&self, n: usize) -> Vec<f64> {
        if n == 0 {
            return Vec::new();
        }
        if n == 1 {
            return vec![1.0];
        }
        let m = match self.symmetry {
            Symmetry::Periodic => n as f64,
            Symmetry::Symmetric => (n - 1) as f64,
        };
        (0..n)
            .map(|i| {
                let x = 2.0 * PI * i as f64 / m;
                match self.kind {
                    WindowKind::Hann => 0.5 - 0.5 * x.cos(),
                    WindowKind::Hamming => 0.54 - 0.46 * x.cos(),
                    WindowKind::Blackman => 0.42 - 0.5 * x.cos() + 0.08 * (2.0 * x).cos(),
                    WindowKind::Rectangular => 1.0,
                }
            })
            .collect()
    }

    /// The window of length `win_length` zero-padded centrally to `n_fft` (librosa `pad_center`).
    pub fn padded(&self, win_length: usize, n_fft: usize) -> Result<Vec<f64>, FrontendError> {
        if win_length == 0 || win_length > n_fft {
            return Err(invalid(
                "win_length",
                format!("1 ≤ win_length ≤ n_fft = {n_fft}"),
                win_length,
            ));
        }
        let w = self.build(win_length);
        let lpad = (n_fft - win_length) / 2;
        let mut out = vec![0.0; n_fft];
        out[lpad..lpad + win_length].copy_from_slice(&w);
        Ok(out)
    }

    /// Equivalent noise bandwidth in bins: librosa's tabulated `WINDOW_BANDWIDTHS` value for its named windows,
    /// otherwise `n·Σw² / (Σw)²` at `n = 1000` as `librosa.filters.window_bandwidth` computes it.
    pub fn bandwidth(&self) -> f64 {
        match self.kind {
            WindowKind::Hann => 1.50018310546875,
            WindowKind::Hamming => 1.3629455320350348,
            WindowKind::Blackman => 1.7269681554262326,
            WindowKind::Rectangular => 1.0,
        }
    }

    /// Numerical equivalent noise bandwidth `n·Σw² / (Σw)²` at `n = 1000`.
    pub fn numerical_bandwidth(&self) -> f64 {
        let w = self.build(1000);
        let s: f64 = w.iter().sum();
        let s2: f64 = w.iter().map(|v| v * v).sum();
        1000.0 * s2 / (s * s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_hann_is_the_first_n_of_symmetric_n_plus_one() {
        let p = WindowSpec::HANN.build(8);
        let s = WindowSpec {
            kind: WindowKind::Hann,
            symmetry: Symmetry::Symmetric,
        }
        .build(9);
        for i in 0..8 {
            assert!((p[i] - s[i]).abs() < 1e-15);
        }
        assert_eq!(p[0], 0.0);
        assert!((p[4] - 1.0).abs() < 1e-15);
    }

    #[test]
    fn hann_bandwidth_matches_librosa_constant() {
        assert_eq!(WindowSpec::HANN.bandwidth(), 1.50018310546875);
        assert!((WindowSpec::HANN.numerical_bandwidth() - 1.5).abs() < 1e-2);
    }

    #[test]
    fn padding_is_central() {
        let w = WindowSpec {
            kind: WindowKind::Rectangular,
            symmetry: Symmetry::Periodic,
        }
        .padded(3, 8)
        .unwrap();
        assert_eq!(w, vec![0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        assert!(WindowSpec::HANN.padded(9, 8).is_err());
    }
}
