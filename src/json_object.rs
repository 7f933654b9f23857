//! JSON objects written field by field, for answers whose field names are fixed when the code
//! is compiled. serde_json escapes every key it writes, character by character, which on a
//! lesson's JSON answer cost more than writing the values; a fixed name is an identifier, so
//! it is copied as it is here and only the values go through serde_json.
//!
//! A type lists its fields once, with [`Fields`](crate::json_object::Fields); the same list then serves serde (for the
//! template context, see [`StructFields`](crate::json_object::StructFields)) and the JSON answer (see
//! [`JsonObject`](crate::json_object::JsonObject)).

use serde::Serialize;
use serde::ser::SerializeStruct;

/// Something that takes a struct's fields one at a time, in order.
pub trait Fields {
    /// What a field that cannot be written fails with.
    type Error;

    /// Takes field `name` with `value`.
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Self::Error>;
}

/// serde's struct serializer as [`Fields`]: a type that writes its fields to a [`Fields`] is
/// serialized by handing them to this.
pub struct StructFields<S>(pub S);

impl<S: SerializeStruct> Fields for StructFields<S> {
    type Error = S::Error;

    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.0.serialize_field(name, value)
    }
}

/// A JSON object being written into a buffer: `{`, then each field, then `}` on
/// [`end`](JsonObject::end). The output is what `serde_json::to_writer` writes for a struct
/// with the same fields.
pub struct JsonObject<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> JsonObject<'a> {
    /// Opens an object at the end of `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        JsonObject { out, empty: true }
    }

    /// Opens an object as the value of field `name`; [`end`](JsonObject::end) it before
    /// writing this object's next field.
    pub fn object(&mut self, name: &'static str) -> JsonObject<'_> {
        self.name(name);
        JsonObject::new(self.out)
    }

    /// Closes the object.
    pub fn end(self) {
        self.out.push(b'}');
    }

    /// `,"name":` (no comma before the first field).
    fn name(&mut self, name: &'static str) {
        debug_assert!(
            is_identifier(name),
            "field name {name:?} would need escaping"
        );
        if !std::mem::take(&mut self.empty) {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }
}

impl Fields for JsonObject<'_> {
    type Error = serde_json::Error;

    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.name(name);
        serde_json::to_writer(&mut *self.out, value)
    }
}

/// Whether `name` is written the same with and without JSON escaping, as every field name
/// in this crate is (ASCII letters, digits and `_`).
fn is_identifier(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use serde::Serializer;
    use serde_json::json;

    use super::*;

    /// A struct with a nested object, listed once for both writers.
    struct Sample {
        name: &'static str,
        count: i64,
        tags: Vec<&'static str>,
    }

    impl Sample {
        fn write_fields<F: Fields>(&self, fields: &mut F) -> Result<(), F::Error> {
            fields.field("name", self.name)?;
            fields.field("count", &self.count)?;
            fields.field("tags", &self.tags)
        }
    }

    impl Serialize for Sample {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut fields = StructFields(serializer.serialize_struct("Sample", 3)?);
            self.write_fields(&mut fields)?;
            fields.0.end()
        }
    }

    #[test]
    fn writes_what_serde_json_writes_for_the_same_struct() {
        let sample = Sample {
            name: "quote \" and \u{e9}",
            count: -3,
            tags: vec!["a", "b\\c"],
        };
        let mut out = Vec::new();
        let mut outer = JsonObject::new(&mut out);
        outer.field("first", &1).unwrap();
        let mut inner = outer.object("sample");
        sample.write_fields(&mut inner).unwrap();
        inner.end();
        outer.field("last", &json!({"k": [null]})).unwrap();
        outer.end();

        let expected = format!(
            r#"{{"first":1,"sample":{},"last":{{"k":[null]}}}}"#,
            serde_json::to_string(&sample).unwrap()
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        assert_eq!(
            serde_json::to_string(&sample).unwrap(),
            r#"{"name":"quote \" and é","count":-3,"tags":["a","b\\c"]}"#
        );
    }

    #[test]
    fn empty_objects_are_braces() {
        let mut out = Vec::new();
        let mut outer = JsonObject::new(&mut out);
        outer.object("inner").end();
        outer.end();
        assert_eq!(out, br#"{"inner":{}}"#);
    }

    #[test]
    fn only_identifiers_are_copied_unescaped() {
        assert!(is_identifier("expire_at_browser_close"));
        assert!(!is_identifier("a\"b"));
        assert!(!is_identifier("caf\u{e9}"));
    }
}
