//! Per-utterance zero-mean / unit-variance normalisation as HF `Wav2Vec2FeatureExtractor(do_normalize=True)` does it.

use super::{FrontendError, check_signal};

/// Variance floor added inside the square root (HF uses `1e-7`).
pub const VARIANCE_EPS: f64 = 1e-7;

/// `(x − mean) / sqrt(var + 1e-7)` with the population variance, computed in f64.
pub fn zero_mean_unit_var(y: &[f32]) -> Result<Vec<f32>, FrontendError> {
    check_signal(y)?;
    let n = y.len() as f64;
    let mean = y.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = y.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let inv = 1.0 / (var + VARIANCE_EPS).sqrt();
    Ok(y.iter()
        .map(|&v| ((v as f64 - mean) * inv) as f32)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_has_zero_mean_and_unit_variance() {
        let y: Vec<f32> = (0..1000).map(|i| 0.3 + (i as f32 * 0.1).sin()).collect();
        let z = zero_mean_unit_var(&y).unwrap();
        let m: f64 = z.iter().map(|&v| v as f64).sum::<f64>() / 1000.0;
        let v: f64 = z.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / 1000.0;
        assert!(m.abs() < 1e-6 && (v - 1.0).abs() < 1e-5);
        assert!(matches!(
            zero_mean_unit_var(&[f32::NAN]),
            Err(FrontendError::NonFiniteInput { .. })
        ));
    }
}
