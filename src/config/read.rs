//! Readers the settings' types share: one of a list of names, or a whole number, from TOML or
//! from an environment variable's text, anything else refused with the allowed values.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer};

/// A setting that takes one of `names` (the ones `parse` reads); any other text is refused
/// with a message that names the `kind` of setting and lists the allowed values.
pub(super) fn one_of<'de, D: Deserializer<'de>, T>(
    d: D,
    kind: &str,
    names: &[&str],
    parse: fn(&str) -> Option<T>,
) -> Result<T, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).ok_or_else(|| {
        de::Error::custom(format!(
            "unknown {kind} `{s}`; allowed values: {}",
            names.join(", ")
        ))
    })
}

/// Reads a whole number: an integer in TOML, its digits in an environment variable. A
/// fraction or a number out of the type's range is refused with `allowed` in the message
/// (the `config` crate alone would round 59.9 to 60).
pub(super) struct WholeNumber<T> {
    allowed: &'static str,
    number: PhantomData<T>,
}

impl<T> WholeNumber<T> {
    /// Reads a number of type `T` for a setting that allows `allowed`.
    pub(super) fn read<'de, D>(d: D, allowed: &'static str) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<i64> + TryFrom<u64>,
    {
        d.deserialize_any(WholeNumber {
            allowed,
            number: PhantomData,
        })
        .map(Some)
    }
}

impl<T: TryFrom<i64> + TryFrom<u64>> Visitor<'_> for WholeNumber<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.allowed)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        match (text.parse::<i64>(), text.parse::<u64>()) {
            (Ok(v), _) => self.visit_i64(v),
            (_, Ok(v)) => self.visit_u64(v),
            _ => Err(E::invalid_value(Unexpected::Str(text), &self)),
        }
    }
}

/// What a size or a count allows.
pub(super) const COUNT_ALLOWED: &str = "a whole number, 1 or more";

/// Reads a size or a count: a whole number (a zero is refused by the checks of its section).
pub(super) fn count<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + TryFrom<u64>,
{
    WholeNumber::read(d, COUNT_ALLOWED)
}

/// Refuses the text setting `key` when it is set to nothing but blanks, which no reader of it
/// could use, naming what is `allowed`.
pub(super) fn refuse_blank(key: &str, value: Option<&str>, allowed: &str) -> Result<(), String> {
    match value {
        Some(text) if text.trim().is_empty() => {
            Err(format!("`{key}` = {text:?} is empty; allowed: {allowed}"))
        }
        _ => Ok(()),
    }
}
