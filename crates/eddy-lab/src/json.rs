//! Just enough JSON output for `eddy lab --json`: strings escaped as RFC 8259
//! says, objects and arrays built from already-encoded values.

use std::fmt::Write as _;

/// `s` as a JSON string literal: quotes, backslashes and control characters
/// escaped; everything else (UTF-8 included) as it is.
pub(crate) fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON array of already-encoded values.
pub(crate) fn array(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(","))
}

/// A JSON object built field by field.
pub(crate) struct Object {
    out: String,
}

impl Object {
    pub(crate) fn new() -> Object {
        Object { out: String::from("{") }
    }

    fn key(&mut self, key: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        self.out.push_str(&string(key));
        self.out.push(':');
    }

    /// A string field.
    pub(crate) fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        self.out.push_str(&string(value));
    }

    /// A field whose value is already JSON (a number, `true`, `null`, an
    /// array or an object).
    pub(crate) fn raw(&mut self, key: &str, value: &str) {
        self.key(key);
        self.out.push_str(value);
    }

    pub(crate) fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_json_requires() {
        assert_eq!(string("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\u0001é\"");
        let mut o = Object::new();
        o.str("k", "v");
        o.raw("n", "1");
        assert_eq!(o.finish(), "{\"k\":\"v\",\"n\":1}");
        assert_eq!(array(["1".to_string(), "2".to_string()].into_iter()), "[1,2]");
    }
}
