//! The field names a derived `Deserialize` reads, asked of serde itself so
//! that a list of known keys can never drift from the struct.

use core::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// The wire names of `T`'s fields, in declaration order: the list its
/// derived `Deserialize` hands to `deserialize_struct` (after `rename` and
/// `rename_all`). Empty for a type that is not a struct with named fields.
///
/// Used to refuse unknown keys where the deserializer cannot (a JS object
/// read by serde-wasm-bindgen, which looks up declared fields only), and to
/// name every field of a frame.
pub fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// A deserializer that records the field list and stops.
struct Probe<'a>(&'a mut &'static [&'static str]);

/// The only error a [`Probe`] returns.
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field probe")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::field_names;

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Sample {
        app_key: String,
        #[serde(rename = "other")]
        renamed: Option<u8>,
    }

    #[test]
    fn lists_the_wire_names_in_order() {
        assert_eq!(field_names::<Sample>(), ["appKey", "other"]);
        assert!(field_names::<String>().is_empty());
    }
}
