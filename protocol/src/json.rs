//! JSON through a small accessor trait and a tiny writer, so that one
//! decoder serves both `serde_json` values (server, native tests) and the
//! browser's own `JSON.parse` results — which keeps a JSON parser out of the
//! WebAssembly package entirely.

/// Read access to a parsed JSON value.
///
/// `field` treats an absent key and `null` alike, as the protocol does for
/// optional fields.
pub trait JsonValue: Sized {
    /// The value of `key` when `self` is an object and the key holds
    /// anything but `null`.
    fn field(&self, key: &str) -> Option<Self>;
    /// The value as a string, if it is one.
    fn string(&self) -> Option<String>;
    /// The value as a non-negative integer of at most 2^53 − 1 (the range
    /// JS numbers hold exactly).
    fn uint(&self) -> Option<u64>;
    /// The value as a boolean, if it is one.
    fn boolean(&self) -> Option<bool>;
    /// The elements, if the value is an array.
    fn items(&self) -> Option<Vec<Self>>;
    /// The number of keys, if the value is an object.
    fn key_count(&self) -> Option<usize>;
}

/// The largest integer a JS number holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

impl JsonValue for &serde_json::Value {
    fn field(&self, key: &str) -> Option<Self> {
        self.as_object()?.get(key).filter(|v| !v.is_null())
    }

    fn string(&self) -> Option<String> {
        self.as_str().map(str::to_owned)
    }

    fn uint(&self) -> Option<u64> {
        self.as_u64().filter(|n| *n <= MAX_SAFE_INTEGER)
    }

    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }

    fn items(&self) -> Option<Vec<Self>> {
        Some(self.as_array()?.iter().collect())
    }

    fn key_count(&self) -> Option<usize> {
        self.as_object().map(serde_json::Map::len)
    }
}

/// Writes one flat JSON object, field by field, in the order given.
///
/// Escapes exactly as `serde_json` does, so both produce the same text.
#[derive(Debug)]
pub struct ObjectWriter {
    out: String,
}

impl Default for ObjectWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ObjectWriter {
    /// An empty object.
    pub fn new() -> Self {
        ObjectWriter {
            out: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        write_string(&mut self.out, key);
        self.out.push(':');
    }

    /// Adds a string field.
    pub fn string(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        write_string(&mut self.out, value);
        self
    }

    /// Adds a string field when `value` is `Some`.
    pub fn optional_string(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.string(key, v),
            None => self,
        }
    }

    /// Adds an integer field.
    pub fn uint(mut self, key: &str, value: u64) -> Self {
        self.key(key);
        write_uint(&mut self.out, value);
        self
    }

    /// Adds a boolean field.
    pub fn boolean(mut self, key: &str, value: bool) -> Self {
        self.key(key);
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    /// Adds a field whose value is already JSON text (an array or object
    /// written by another writer). The caller vouches that it is valid JSON.
    pub fn raw(mut self, key: &str, json: &str) -> Self {
        self.key(key);
        self.out.push_str(json);
        self
    }

    /// The finished object.
    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

fn write_uint(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

fn write_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let b = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[b >> 4]));
                out.push(char::from(HEX[b & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_exactly_like_serde_json() {
        let tricky = [
            "",
            "plain",
            "quote\" backslash\\ slash/",
            "\u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}\u{7f}",
            "ünïcödé 😀 \u{2028}",
        ];
        for s in tricky {
            let ours = ObjectWriter::new().string("k", s).finish();
            let theirs = serde_json::json!({ "k": s }).to_string();
            assert_eq!(ours, theirs, "{s:?}");
        }
    }

    #[test]
    fn numbers_and_booleans_match_serde_json() {
        for n in [0, 7, 10, 1_700_000_000_000, u64::MAX] {
            let ours = ObjectWriter::new()
                .uint("n", n)
                .boolean("b", n % 2 == 0)
                .finish();
            let theirs = format!(r#"{{"n":{n},"b":{}}}"#, n % 2 == 0);
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn raw_values_are_embedded_as_they_are() {
        let inner = ObjectWriter::new().uint("a", 1).finish();
        let text = ObjectWriter::new()
            .raw("list", &format!("[{inner}]"))
            .finish();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["list"][0]["a"], 1);
    }

    #[test]
    fn absent_and_null_fields_read_alike() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"a":null,"n":9007199254740992}"#).unwrap();
        assert!((&v).field("a").is_none());
        assert!((&v).field("b").is_none());
        assert_eq!(
            (&v).field("n").and_then(|n| n.uint()),
            None,
            "above 2^53 - 1"
        );
    }
}
