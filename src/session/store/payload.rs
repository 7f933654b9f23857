//! A signed session payload decoded in one pass: a JSON object becomes the session's data as
//! it is read (no intermediate `Value`), and any other JSON value is only named, for the log.

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::SessionData;

/// What a genuine signed payload held.
#[derive(Debug, PartialEq)]
pub enum SessionPayload {
    /// A JSON object: the session's data, in the object's order (a repeated key keeps its
    /// first place and its last value, as Python's `json.loads` does).
    Session(SessionData),
    /// Any other JSON value, by kind (`"array"`, `"string"`, …): not a session.
    NotAnObject(&'static str),
}

impl<'de> Deserialize<'de> for SessionPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PayloadVisitor)
    }
}

struct PayloadVisitor;

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = SessionPayload;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let capacity = map.size_hint().unwrap_or(0);
        let mut data = SessionData::with_capacity_and_hasher(capacity, Default::default());
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            data.insert(key, value);
        }
        Ok(SessionPayload::Session(data))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(SessionPayload::NotAnObject("array"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(SessionPayload::NotAnObject("string"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(SessionPayload::NotAnObject("boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(SessionPayload::NotAnObject("number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(SessionPayload::NotAnObject("number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(SessionPayload::NotAnObject("number"))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(SessionPayload::NotAnObject("null"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(text: &str) -> SessionPayload {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn an_object_is_the_session_in_its_order() {
        let SessionPayload::Session(data) = decode(r#"{"z": 1, "a": {"b": [true]}, "m": null}"#)
        else {
            panic!("an object is a session");
        };
        let keys: Vec<&str> = data.keys().map(String::as_str).collect();
        assert_eq!(keys, ["z", "a", "m"]);
        assert_eq!(data["a"], json!({"b": [true]}));
        assert_eq!(data["m"], Value::Null);
    }

    #[test]
    fn a_repeated_key_keeps_its_first_place_and_its_last_value() {
        let SessionPayload::Session(data) = decode(r#"{"a": 1, "b": 2, "a": 3}"#) else {
            panic!("an object is a session");
        };
        let entries: Vec<(&str, &Value)> = data.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(entries, [("a", &json!(3)), ("b", &json!(2))]);
    }

    #[test]
    fn every_other_value_is_named_by_its_kind() {
        for (text, kind) in [
            ("[1, [2], {}]", "array"),
            (r#""text""#, "string"),
            ("true", "boolean"),
            ("-3", "number"),
            ("18446744073709551615", "number"),
            ("1.5", "number"),
            ("null", "null"),
        ] {
            assert_eq!(decode(text), SessionPayload::NotAnObject(kind), "{text}");
        }
    }

    #[test]
    fn broken_json_is_an_error() {
        assert!(serde_json::from_str::<SessionPayload>(r#"{"a": "#).is_err());
        assert!(serde_json::from_str::<SessionPayload>("[1, 2").is_err());
    }
}
