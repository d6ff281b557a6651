//! Floats that survive JSON whatever their value. JSON has no NaN or infinity and
//! serde_json writes them as `null`, which then fails to load as a number. With
//! `#[serde(with = "nonfinite")]` a finite value is a JSON number as before, and
//! NaN, inf and -inf are the strings `"NaN"`, `"inf"` and `"-inf"` (which jq and
//! Python read); `null`, how older files spelt them, loads as NaN.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    Real(*value).serialize(serializer)
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Real::deserialize(deserializer).map(|real| real.0)
}

/// An `f64` written by the rules above.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Real(pub f64);

impl Serialize for Real {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            value if value.is_finite() => serializer.serialize_f64(value),
            value if value.is_nan() => serializer.serialize_str("NaN"),
            value if value > 0.0 => serializer.serialize_str("inf"),
            _ => serializer.serialize_str("-inf"),
        }
    }
}

impl<'de> Deserialize<'de> for Real {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RealVisitor).map(Real)
    }
}

struct RealVisitor;

impl Visitor<'_> for RealVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, \"NaN\", \"inf\" or \"-inf\"")
    }

    fn visit_f64<E>(self, value: f64) -> Result<f64, E> {
        Ok(value)
    }

    fn visit_i64<E>(self, value: i64) -> Result<f64, E> {
        Ok(value as f64)
    }

    fn visit_u64<E>(self, value: u64) -> Result<f64, E> {
        Ok(value as f64)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<f64, E> {
        match text {
            "NaN" | "nan" => Ok(f64::NAN),
            "inf" | "Infinity" | "+inf" => Ok(f64::INFINITY),
            "-inf" | "-Infinity" => Ok(f64::NEG_INFINITY),
            other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
        }
    }

    fn visit_unit<E>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }

    fn visit_none<E>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
}

/// `Option<f64>`: `None` is `null`, as before; a non-finite value is a string.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
        value.map(Real).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        Option::<Real>::deserialize(deserializer).map(|value| value.map(|real| real.0))
    }
}

/// `Vec<f64>`.
pub mod vec {
    use super::*;

    pub fn serialize<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(values.iter().map(|&value| Real(value)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        Vec::<Real>::deserialize(deserializer)
            .map(|values| values.into_iter().map(|r| r.0).collect())
    }
}

/// `Vec<(usize, f64)>`, e.g. an LR plan's (step, lr) samples.
pub mod pairs {
    use super::*;

    pub fn serialize<S: Serializer>(
        values: &[(usize, f64)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(values.iter().map(|&(key, value)| (key, Real(value))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(usize, f64)>, D::Error> {
        Vec::<(usize, Real)>::deserialize(deserializer)
            .map(|values| values.into_iter().map(|(key, r)| (key, r.0)).collect())
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize)]
    struct Sample {
        #[serde(with = "super")]
        loss: f64,
        #[serde(with = "super::option")]
        best: Option<f64>,
        #[serde(with = "super::vec")]
        recall: Vec<f64>,
        #[serde(with = "super::pairs")]
        plan: Vec<(usize, f64)>,
    }

    fn same(a: f64, b: f64) -> bool {
        a == b || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn every_float_round_trips_through_json_and_ron() {
        let sample = Sample {
            loss: f64::NAN,
            best: Some(f64::INFINITY),
            recall: vec![0.5, f64::NEG_INFINITY, f64::NAN],
            plan: vec![(3, f64::INFINITY), (4, 1e-300)],
        };
        let json = serde_json::to_string(&sample).unwrap();
        assert_eq!(
            json,
            r#"{"loss":"NaN","best":"inf","recall":[0.5,"-inf","NaN"],"plan":[[3,"inf"],[4,1e-300]]}"#
        );
        let ron_text = ron::to_string(&sample).unwrap();
        for back in [
            serde_json::from_str::<Sample>(&json).unwrap(),
            ron::from_str::<Sample>(&ron_text).unwrap(),
        ] {
            assert!(same(back.loss, sample.loss));
            assert_eq!(back.best, sample.best);
            assert!(back
                .recall
                .iter()
                .zip(&sample.recall)
                .all(|(a, b)| same(*a, *b)));
            assert_eq!(back.plan, sample.plan);
        }
    }

    #[test]
    fn older_files_load_null_as_nan_and_numbers_as_before() {
        let old = r#"{"loss":null,"best":null,"recall":[1,0.25],"plan":[]}"#;
        let back: Sample = serde_json::from_str(old).unwrap();
        assert!(back.loss.is_nan());
        assert_eq!(back.best, None);
        assert_eq!(back.recall, vec![1.0, 0.25]);
        let wrong = r#"{"loss":"lots","best":null,"recall":[],"plan":[]}"#;
        let error = serde_json::from_str::<Sample>(wrong)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("a number, \"NaN\", \"inf\" or \"-inf\""),
            "{error}"
        );
    }
}
