//! Decibel conversion (`librosa.power_to_db`, `librosa.amplitude_to_db`).

use super::{FrontendError, fast_log10, invalid};

/// The reference level 0 dB corresponds to.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum DbRef {
    /// A fixed value (librosa default 1.0).
    Value(f32),
    /// The maximum of the input (librosa `ref=np.max`).
    #[default]
    Max,
}

/// dB conversion parameters. [`DbParams::power`] gives librosa's `power_to_db` defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbParams {
    /// Reference.
    pub reference: DbRef,
    /// Floor applied to the input (1e-10 for power, 1e-5 for amplitude).
    pub amin: f32,
    /// Clip to `max − top_db` where max is the maximum of the **whole** output; `None` = no clipping.
    pub top_db: Option<f32>,
}

impl DbParams {
    /// `power_to_db` defaults: `ref=1.0, amin=1e-10, top_db=80`.
    pub fn power() -> Self {
        DbParams {
            reference: DbRef::Value(1.0),
            amin: 1e-10,
            top_db: Some(80.0),
        }
    }

    /// `amplitude_to_db` defaults: `ref=1.0, amin=1e-5, top_db=80`.
    pub fn amplitude() -> Self {
        DbParams {
            reference: DbRef::Value(1.0),
            amin: 1e-5,
            top_db: Some(80.0),
        }
    }

    /// Validate.
    pub fn check(&self) -> Result<(), FrontendError> {
        if !(self.amin.is_finite() && self.amin >= f32::MIN_POSITIVE) {
            return Err(invalid(
                "amin",
                "amin > 0 (a normal f32, ≥ 1.2e-38)",
                self.amin,
            ));
        }
        if let Some(t) = self.top_db
            && !(t.is_finite() && t >= 0.0)
        {
            return Err(invalid("top_db", "top_db ≥ 0 (or none)", t));
        }
        if let DbRef::Value(r) = self.reference
            && !r.is_finite()
        {
            return Err(invalid("ref", "a finite reference value", r));
        }
        Ok(())
    }
}

/// In place: `10·log10(max(S, amin)) − 10·log10(max(amin, |ref|))`, then clip to `max − top_db`.
pub fn power_to_db(s: &mut [f32], p: &DbParams) -> Result<(), FrontendError> {
    p.check()?;
    let ref_value = match p.reference {
        DbRef::Value(r) => r.abs(),
        DbRef::Max => s.iter().fold(f32::NEG_INFINITY, |m, v| m.max(v.abs())),
    };
    let offset = 10.0 * p.amin.max(ref_value).log10();
    let amin = p.amin;
    for v in s.iter_mut() {
        *v = 10.0 * fast_log10(v.abs().max(amin)) - offset;
    }
    let max = s.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    if let Some(top) = p.top_db {
        let floor = max - top;
        for v in s.iter_mut() {
            *v = v.max(floor);
        }
    }
    Ok(())
}

/// In place: `power_to_db(|S|², ref², amin², top_db)` (i.e. `20·log10`).
pub fn amplitude_to_db(s: &mut [f32], p: &DbParams) -> Result<(), FrontendError> {
    p.check()?;
    let reference = match p.reference {
        DbRef::Value(r) => DbRef::Value(r * r),
        DbRef::Max => DbRef::Value({
            let m = s.iter().fold(0f32, |m, v| m.max(v.abs()));
            m * m
        }),
    };
    for v in s.iter_mut() {
        *v *= *v;
    }
    power_to_db(
        s,
        &DbParams {
            reference,
            amin: p.amin * p.amin,
            top_db: p.top_db,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_and_global_top_db() {
        let mut s = vec![1.0, 0.1, 1e-12, 100.0];
        power_to_db(&mut s, &DbParams::power()).unwrap();
        assert_eq!(s[0], 0.0);
        assert!((s[1] + 10.0).abs() < 1e-5);
        assert!((s[2] + 60.0).abs() < 1e-4); // clipped at 20 − 80 = −60 (amin gives −100)
        assert!((s[3] - 20.0).abs() < 1e-5);
        let mut a = vec![10.0, 1.0];
        amplitude_to_db(
            &mut a,
            &DbParams {
                reference: DbRef::Max,
                ..DbParams::amplitude()
            },
        )
        .unwrap();
        assert!(a[0].abs() < 1e-6 && (a[1] + 20.0).abs() < 1e-5);
        assert!(
            power_to_db(
                &mut a,
                &DbParams {
                    amin: 0.0,
                    ..DbParams::power()
                }
            )
            .is_err()
        );
    }
}
