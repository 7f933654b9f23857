//! Session values as Python prints them. The pages and messages speak Python — `True`,
//! `None`, `'Sonam'`, `{'a': [1, 2]}` — where the data itself is JSON (what Django's
//! `JSONSerializer` stores and the JSON answers carry): a value here is what `json.loads` gives
//! Django, written as Python's `repr()` (or `str()`) writes that.

use std::fmt::Write as _;

use serde_json::Value;

/// Python's `repr()` of `value` as `json.loads` reads it: `None`, `True`, `42`, `1.5`,
/// `1e-09`, `'text'`, `[1, 2]`, `{'a': 1}`.
pub fn repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

/// Python's `str()` of `value`: a string is itself, anything else its [`repr`]. What a Django
/// template prints for `{{ value }}` (before escaping).
pub fn str_of(value: &Value) -> std::borrow::Cow<'_, str> {
    match value {
        Value::String(text) => text.into(),
        other => repr(other).into(),
    }
}

/// Python's `repr()` of a string: in single quotes, or double quotes when it holds a single
/// quote and no double quote; `\\`, the quote, `\n`, `\r`, `\t` and the characters Python does
/// not print (control and format characters, separators other than the space, private use)
/// escaped as Python escapes them.
pub fn repr_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    write_repr_str(&mut out, text);
    out
}

/// [`repr`], appended to `out`.
pub fn write_repr(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(number) => match number.as_f64() {
            Some(float) if number.is_f64() => write_float(out, float),
            // An integer (i64 or u64) is written whole, as Python writes an int.
            _ => {
                let _ = write!(out, "{number}");
            }
        },
        Value::String(text) => write_repr_str(out, text),
        Value::Array(items) => {
            out.push('[');
            for (at, item) in items.iter().enumerate() {
                if at > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (at, (key, item)) in map.iter().enumerate() {
                if at > 0 {
                    out.push_str(", ");
                }
                write_repr_str(out, key);
                out.push_str(": ");
                write_repr(out, item);
            }
            out.push('}');
        }
    }
}

/// [`repr_str`], appended to `out`.
pub fn write_repr_str(out: &mut String, text: &str) {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => {
                let code = u32::from(c);
                let _ = match code {
                    0..=0xff => write!(out, "\\x{code:02x}"),
                    0x100..=0xffff => write!(out, "\\u{code:04x}"),
                    _ => write!(out, "\\U{code:08x}"),
                };
            }
        }
    }
    out.push(quote);
}

/// Python's `str.isprintable()` for one character: not a control, format, private-use or
/// non-character code point, and not a separator other than the space. (Python also escapes
/// code points unassigned in its Unicode version; those are printed as they are here.)
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !matches!(u32::from(c),
        // Cc
        0x00..=0x1f | 0x7f..=0x9f
        // Zs (but the space), Zl, Zp
        | 0xa0 | 0x1680 | 0x2000..=0x200a | 0x2028 | 0x2029 | 0x202f | 0x205f | 0x3000
        // Cf
        | 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2 | 0x180e
        | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff
        | 0xfff9..=0xfffb | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f
        // Co
        | 0xe000..=0xf8ff | 0xf0000..=0xffffd | 0x100000..=0x10fffd
        // Cn: the non-characters
        | 0xfdd0..=0xfdef)
        && (u32::from(c) & 0xfffe) != 0xfffe
}

/// Python's `repr()` of a float: the shortest text that reads back as the same float, in
/// fixed notation with at least one decimal (`1.0`, `0.0001`) unless its exponent is below -4
/// or at least 16, then as `1e-05`, `1.5e+16` (a signed exponent of two digits or more).
fn write_float(out: &mut String, float: f64) {
    if !float.is_finite() {
        // JSON has no NaN or infinity; Python would print these.
        out.push_str(if float.is_nan() {
            "nan"
        } else if float > 0.0 {
            "inf"
        } else {
            "-inf"
        });
        return;
    }
    if float.is_sign_negative() {
        out.push('-');
    }
    // Rust's `{:e}` is the shortest round-trip text, as Python's repr: `1.5e16`, `1e-9`, `0e0`.
    let scientific = format!("{:e}", float.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if !(-4..16).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.abs());
        return;
    }
    // Where the decimal point goes, counted in digits from the first.
    let point = exponent + 1;
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let point = point as usize;
        if point < digits.len() {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        } else {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point - digits.len()));
            out.push_str(".0");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The repr of the JSON text `json`, as Python prints `json.loads(json)`.
    fn of(json: &str) -> String {
        repr(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn constants_are_python_s() {
        assert_eq!(repr(&Value::Null), "None");
        assert_eq!(repr(&json!(true)), "True");
        assert_eq!(repr(&json!(false)), "False");
    }

    #[test]
    fn strings_are_quoted_as_python_quotes_them() {
        assert_eq!(repr_str("age"), "'age'");
        assert_eq!(repr_str(""), "''");
        assert_eq!(repr_str("it's"), "\"it's\"");
        assert_eq!(repr_str("say \"hi\""), "'say \"hi\"'");
        assert_eq!(repr_str("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(repr_str("back\\slash"), "'back\\\\slash'");
    }

    #[test]
    fn strings_escape_what_python_does_not_print() {
        assert_eq!(repr_str("a\nb\tc\rd"), "'a\\nb\\tc\\rd'");
        assert_eq!(
            repr_str("\u{0}\u{1b}\u{7f}\u{85}"),
            "'\\x00\\x1b\\x7f\\x85'"
        );
        assert_eq!(repr_str("no\u{a0}break"), "'no\\xa0break'");
        assert_eq!(
            repr_str("\u{ad}\u{200b}\u{2028}\u{feff}"),
            "'\\xad\\u200b\\u2028\\ufeff'"
        );
        assert_eq!(repr_str("\u{e000}\u{10fffd}"), "'\\ue000\\U0010fffd'");
        assert_eq!(repr_str("\u{fffe}\u{1ffff}"), "'\\ufffe\\U0001ffff'");
        assert_eq!(repr_str("ünïcode 日本 🙂 a b"), "'ünïcode 日本 🙂 a b'");
    }

    #[test]
    fn integers_are_written_whole() {
        assert_eq!(of("42"), "42");
        assert_eq!(of("-7"), "-7");
        assert_eq!(of("0"), "0");
        assert_eq!(of("18446744073709551615"), "18446744073709551615");
        assert_eq!(of("-9223372036854775808"), "-9223372036854775808");
    }

    #[test]
    fn floats_are_written_as_python_s_repr() {
        for (json, python) in [
            ("1.0", "1.0"),
            ("-1.0", "-1.0"),
            ("0.0", "0.0"),
            ("-0.0", "-0.0"),
            ("1.5", "1.5"),
            ("0.1", "0.1"),
            ("2.5e-3", "0.0025"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("1.5e-7", "1.5e-07"),
            ("1e-9", "1e-09"),
            ("123.456", "123.456"),
            ("1e15", "1000000000000000.0"),
            ("1234567890123456.7", "1234567890123456.8"),
            ("1e16", "1e+16"),
            ("1.5e16", "1.5e+16"),
            ("1e22", "1e+22"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("5e-324", "5e-324"),
            ("0.30000000000000004", "0.30000000000000004"),
        ] {
            assert_eq!(of(json), python, "{json}");
        }
    }

    #[test]
    fn containers_are_written_as_python_s_list_and_dict() {
        assert_eq!(of("[]"), "[]");
        assert_eq!(of("{}"), "{}");
        assert_eq!(of("[1, 2]"), "[1, 2]");
        assert_eq!(of(r#"{"a": 1, "b": [1, 2]}"#), "{'a': 1, 'b': [1, 2]}");
        assert_eq!(
            of(r#"{"z": null, "it's": [true, "x", {"k": 1.0}]}"#),
            "{'z': None, \"it's\": [True, 'x', {'k': 1.0}]}",
            "insertion order, and each key quoted on its own"
        );
    }

    #[test]
    fn str_of_a_string_is_the_string_itself() {
        assert_eq!(str_of(&json!("Sonam")), "Sonam");
        assert_eq!(str_of(&json!("it's")), "it's");
        assert_eq!(str_of(&json!(26)), "26");
        assert_eq!(str_of(&Value::Null), "None");
        assert_eq!(str_of(&json!({"a": "b"})), "{'a': 'b'}");
    }
}
