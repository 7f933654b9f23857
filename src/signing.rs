//! Django-compatible signed values: a re-implementation of Django 5.2's
//! `django.core.signing.dumps` / `loads` (a `TimestampSigner` over compact,
//! ASCII-only JSON, optionally zlib-compressed).
//!
//! The module exists so that sessionlab produces and accepts *exactly* the
//! strings Django does: the session store keeps its data in this format (salt
//! [`SESSION_SALT`](crate::signing::SESSION_SALT)) and the signed-cookie backend puts it straight into the
//! cookie (salt [`SIGNED_COOKIES_SALT`](crate::signing::SIGNED_COOKIES_SALT)). A value signed by Django with the same
//! `SECRET_KEY` and salt verifies here and the other way round, and signing the
//! same JSON at the same second gives the same string (see the vectors in the
//! tests, produced with real Django 5.2.19), with one caveat below.
//!
//! The format of a signed value is
//!
//! ```text
//! [.]base64url(json or zlib(json)) ":" base62(unix seconds) ":" base64url(HMAC-SHA256)
//! ```
//!
//! where the HMAC key is `SHA256(salt + "signer" + SECRET_KEY)` and the message
//! is everything before the last `:`. A leading `.` marks a compressed payload.
//!
//! Compressed payloads: CPython's `zlib.compress` is C zlib, so sessionlab builds
//! `flate2` with its `zlib` feature (C zlib) and reproduces Django's bytes exactly.
//! The pure-Rust `miniz_oxide` and `zlib-rs` backends write different (equally
//! valid) streams: with them both sides would still read each other's values,
//! but compressed values would not be byte-identical.

use std::cell::RefCell;
use std::fmt;
use std::io;

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::ser::{CharEscape, Formatter};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The salt Django's database, cache and file session backends use for stored
/// session data: `SessionBase.key_salt` of
/// `django.contrib.sessions.backends.base.SessionBase` subclasses, i.e.
/// `"django.contrib.sessions." + SessionStore.__qualname__`.
pub const SESSION_SALT: &str = "django.contrib.sessions.SessionStore";

/// The salt of `django.contrib.sessions.backends.signed_cookies.SessionStore`,
/// which signs the whole session into the cookie value.
pub const SIGNED_COOKIES_SALT: &str = "django.contrib.sessions.backends.signed_cookies";

/// The default salt of `django.core.signing.dumps` / `loads`.
pub const DEFAULT_SALT: &str = "django.core.signing";

/// Largest decompressed payload accepted by [`Signer::unsign_object`], in bytes.
///
/// Django has no such limit (it relies on the signature: only the key holder can
/// produce a compressed payload). Capping it keeps a leaked or misused key from
/// turning a small cookie into a huge allocation. A larger payload is reported
/// as [`SigningError::BadPayload`].
pub const MAX_DECOMPRESSED_SIZE: usize = 4 * 1024 * 1024;

/// `django.core.signing.BASE62_ALPHABET`: digits, then upper case, then lower case.
const BASE62_ALPHABET: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The separator of `Signer(sep=":")`.
const SEP: char = ':';

/// `b64_decode`: URL-safe alphabet, padding optional, non-canonical trailing bits
/// accepted (as Python's `base64.urlsafe_b64decode` does).
const B64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

type HmacSha256 = Hmac<Sha256>;

/// Why a value was rejected as `django.core.signing.BadSignature` (expiry aside,
/// which is [`SigningError::SignatureExpired`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadSignatureReason {
    /// Django: `No ":" found in value`.
    #[error("no \":\" separator found in value")]
    MissingSeparator,
    /// Django: `Signature "…" does not match` (for the key and every fallback key).
    #[error("signature does not match")]
    Mismatch,
    /// The signed part has no `:` before the timestamp (Django raises `ValueError`).
    #[error("no timestamp found in value")]
    MissingTimestamp,
    /// The timestamp is not base62 or does not fit in an `i64` (Django raises
    /// `ValueError` / `IndexError`).
    #[error("timestamp is not a valid base62 number")]
    BadTimestamp,
}

/// Errors of [`Signer::unsign_object`] and friends, mirroring the exceptions of
/// `django.core.signing`. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// `django.core.signing.BadSignature`: the value was not signed by us, was
    /// tampered with, or is malformed before the payload.
    #[error("bad signature: {0}")]
    BadSignature(BadSignatureReason),
    /// `django.core.signing.SignatureExpired`: the signature is genuine but older
    /// than `max_age` seconds.
    #[error("signature expired: age {age} > {max_age} seconds")]
    SignatureExpired {
        /// Seconds between the embedded timestamp and `now`.
        age: i64,
        /// The `max_age` that was exceeded.
        max_age: i64,
    },
    /// The signature is genuine but the payload cannot be decoded (bad base64,
    /// bad zlib data, over [`MAX_DECOMPRESSED_SIZE`], or not JSON). Django lets
    /// the underlying `binascii.Error` / `zlib.error` / `JSONDecodeError` escape.
    #[error("bad payload: {0}")]
    BadPayload(String),
}

impl SigningError {
    /// True for the errors Django reports as `BadSignature` or its subclass
    /// `SignatureExpired`, i.e. what `except signing.BadSignature:` catches.
    #[must_use]
    pub const fn is_bad_signature(&self) -> bool {
        matches!(self, Self::BadSignature(_) | Self::SignatureExpired { .. })
    }
}

/// `django.core.signing.TimestampSigner` with the JSON serializer, for one salt,
/// one `SECRET_KEY` and its `SECRET_KEY_FALLBACKS`.
///
/// Precomputes the derived HMAC keys once (hot path: do not re-hash `SECRET_KEY` per call).
#[derive(Clone)]
pub struct Signer {
    /// HMAC state keyed with the derived key of `SECRET_KEY`; signs and verifies.
    primary: HmacSha256,
    /// HMAC states for `SECRET_KEY_FALLBACKS`, in order; verify only.
    fallbacks: Vec<HmacSha256>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("fallback_keys", &self.fallbacks.len())
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// `TimestampSigner(key=secret_key, fallback_keys=fallbacks, salt=salt)`.
    ///
    /// Derives `SHA256(salt + "signer" + key)` for every key, as Django's
    /// `salted_hmac(salt + "signer", value, key, algorithm="sha256")` does on
    /// each call.
    #[must_use]
    pub fn new(secret_key: &str, fallbacks: &[String], salt: &str) -> Self {
        Self {
            primary: derive_mac(salt, secret_key),
            fallbacks: fallbacks.iter().map(|key| derive_mac(salt, key)).collect(),
        }
    }

    /// `django.core.signing.dumps(obj, salt=…, compress=…)` at the given unix time (seconds).
    ///
    /// The JSON is [`python_json_bytes`]; with `compress`, the zlib stream is used
    /// only when it is at least two bytes shorter, and is then marked with a
    /// leading `.`.
    #[must_use]
    pub fn sign_object<T: Serialize + ?Sized>(
        &self,
        value: &T,
        compress: bool,
        timestamp: i64,
    ) -> String {
        let data = python_json_bytes(value);
        let compressed = if compress {
            zlib_compress(&data, data.len().saturating_sub(2))
        } else {
            None
        };
        let payload = match compressed {
            Some(packed) => format!(".{}", URL_SAFE_NO_PAD.encode(packed)),
            None => URL_SAFE_NO_PAD.encode(&data),
        };
        self.sign(&payload, timestamp)
    }

    /// `django.core.signing.loads(s, salt=…, max_age=…)` judged at `now` (unix seconds).
    ///
    /// # Errors
    ///
    /// [`SigningError::BadSignature`] for anything not signed by the key or a
    /// fallback key (or with a malformed timestamp), [`SigningError::SignatureExpired`]
    /// when `now - timestamp > max_age`, and [`SigningError::BadPayload`] when the
    /// genuine payload does not decode.
    pub fn unsign_object(
        &self,
        signed: &str,
        max_age: Option<i64>,
        now: i64,
    ) -> Result<serde_json::Value, SigningError> {
        self.unsign_object_as(signed, max_age, now)
    }

    /// [`Signer::unsign_object`] decoding the payload straight into `T`; a payload that is
    /// JSON but not a `T` is [`SigningError::BadPayload`].
    ///
    /// # Errors
    ///
    /// As [`Signer::unsign_object`].
    pub fn unsign_object_as<T: DeserializeOwned>(
        &self,
        signed: &str,
        max_age: Option<i64>,
        now: i64,
    ) -> Result<T, SigningError> {
        self.unsign_object_timestamped(signed, max_age, now)
            .map(|(value, _)| value)
    }

    /// [`Signer::unsign_object_as`] that also returns when the value was signed (unix
    /// seconds), for callers that measure their own expiry from it.
    ///
    /// # Errors
    ///
    /// As [`Signer::unsign_object`].
    pub fn unsign_object_timestamped<T: DeserializeOwned>(
        &self,
        signed: &str,
        max_age: Option<i64>,
        now: i64,
    ) -> Result<(T, i64), SigningError> {
        let value = self.verify(signed)?;
        let (payload, timestamp) = split_timestamp(value)?;
        if let Some(max_age) = max_age {
            let age = now.saturating_sub(timestamp);
            if age > max_age {
                return Err(SigningError::SignatureExpired { age, max_age });
            }
        }
        decode_payload(payload).map(|value| (value, timestamp))
    }

    /// Returns the timestamp embedded in a signed value after verifying the signature (no payload decode).
    ///
    /// # Errors
    ///
    /// [`SigningError::BadSignature`] as for [`Signer::unsign_object`]; never
    /// expiry or payload errors.
    pub fn signed_timestamp(&self, signed: &str) -> Result<i64, SigningError> {
        let value = self.verify(signed)?;
        split_timestamp(value).map(|(_, timestamp)| timestamp)
    }

    /// `TimestampSigner.sign(value)` at the given unix time: appends
    /// `":" + base62(timestamp)` and then `":" + signature`.
    #[must_use]
    pub fn sign(&self, value: &str, timestamp: i64) -> String {
        let value = format!("{value}{SEP}{}", b62_encode(timestamp));
        let signature = signature(&self.primary, &value);
        format!("{value}{SEP}{signature}")
    }

    /// `TimestampSigner.unsign(value, max_age=…)` judged at `now`: verifies the
    /// signature and the age and returns the unsigned value (the payload).
    ///
    /// # Errors
    ///
    /// [`SigningError::BadSignature`] or [`SigningError::SignatureExpired`].
    pub fn unsign<'a>(
        &self,
        signed: &'a str,
        max_age: Option<i64>,
        now: i64,
    ) -> Result<&'a str, SigningError> {
        let value = self.verify(signed)?;
        let (payload, timestamp) = split_timestamp(value)?;
        if let Some(max_age) = max_age {
            let age = now.saturating_sub(timestamp);
            if age > max_age {
                return Err(SigningError::SignatureExpired { age, max_age });
            }
        }
        Ok(payload)
    }

    /// `Signer.unsign(signed_value)`: splits the signature off at the last `:`
    /// and checks it, in constant time, against `SECRET_KEY` and then each
    /// fallback key. Returns the signed part (`payload:timestamp`).
    fn verify<'a>(&self, signed: &'a str) -> Result<&'a str, SigningError> {
        let (value, sig) = signed.rsplit_once(SEP).ok_or(SigningError::BadSignature(
            BadSignatureReason::MissingSeparator,
        ))?;
        let matched = std::iter::once(&self.primary)
            .chain(&self.fallbacks)
            .any(|mac| bool::from(sig.as_bytes().ct_eq(signature(mac, value).as_bytes())));
        if matched {
            Ok(value)
        } else {
            Err(SigningError::BadSignature(BadSignatureReason::Mismatch))
        }
    }
}

/// `salted_hmac(salt + "signer", …, key, algorithm="sha256")`'s key schedule:
/// an HMAC-SHA256 state keyed with `SHA256(salt + "signer" + key)`.
fn derive_mac(salt: &str, key: &str) -> HmacSha256 {
    let digest = Sha256::new()
        .chain_update(salt.as_bytes())
        .chain_update(b"signer")
        .chain_update(key.as_bytes())
        .finalize();
    // HMAC zero-pads a key shorter than the hash's 64-byte block, so keying
    // with the padded block is the same MAC as keying with the 32-byte digest,
    // and this constructor cannot fail.
    let mut block = [0u8; 64];
    block[..digest.len()].copy_from_slice(&digest);
    <HmacSha256 as hmac::digest::KeyInit>::new(&block.into())
}

/// `base64_hmac(...)`: the URL-safe, unpadded base64 of the HMAC of `value`.
fn signature(mac: &HmacSha256, value: &str) -> String {
    let tag = mac
        .clone()
        .chain_update(value.as_bytes())
        .finalize()
        .into_bytes();
    URL_SAFE_NO_PAD.encode(tag)
}

/// `TimestampSigner.unsign`'s `value.rsplit(":", 1)` and `b62_decode(timestamp)`.
fn split_timestamp(value: &str) -> Result<(&str, i64), SigningError> {
    let (payload, timestamp) = value.rsplit_once(SEP).ok_or(SigningError::BadSignature(
        BadSignatureReason::MissingTimestamp,
    ))?;
    let timestamp = b62_decode(timestamp)
        .ok_or(SigningError::BadSignature(BadSignatureReason::BadTimestamp))?;
    Ok((payload, timestamp))
}

/// `Signer.unsign_object`'s payload half: optional `.` (compressed), base64,
/// zlib, then `JSONSerializer.loads`.
fn decode_payload<T: DeserializeOwned>(payload: &str) -> Result<T, SigningError> {
    let (compressed, encoded) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    let mut data = B64_LENIENT
        .decode(encoded)
        .map_err(|err| SigningError::BadPayload(format!("invalid base64: {err}")))?;
    if compressed {
        data = zlib_decompress(&data, MAX_DECOMPRESSED_SIZE)?;
    }
    let parsed = if data.is_ascii() {
        serde_json::from_slice(&data)
    } else {
        // `JSONSerializer.loads` decodes the bytes as Latin-1, so a payload with
        // raw UTF-8 (which Django itself never writes) reads as mojibake there too.
        let text: String = data.iter().copied().map(char::from).collect();
        serde_json::from_str(&text)
    };
    parsed.map_err(|err| SigningError::BadPayload(format!("invalid JSON: {err}")))
}

/// `zlib.compress(data)` (zlib wrapper, default level 6) when its output takes at most
/// `max_len` bytes; `None` when it would take more (the compressor stops there) or fails.
fn zlib_compress(data: &[u8], max_len: usize) -> Option<Vec<u8>> {
    thread_local! {
        /// This thread's compressor, reset for each use: a new one allocates and clears about
        /// 300 KB of tables, which cost more than the rest of a signed-cookie save together.
        static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::default(), true));
    }
    DEFLATE.with(|deflate| {
        let mut deflate = deflate.try_borrow_mut().ok()?;
        deflate.reset();
        let mut out = Vec::with_capacity(max_len.min(zlib_compress_bound(data.len())));
        match deflate.compress_vec(data, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => Some(out),
            _ => None,
        }
    })
}

/// zlib's `compressBound`: the most `zlib.compress` writes for `len` bytes.
fn zlib_compress_bound(len: usize) -> usize {
    len + (len >> 12) + (len >> 14) + (len >> 25) + 13
}

/// `zlib.decompress(data)` with an output cap: the stream must be complete
/// (checksum included); bytes after its end are ignored, as Python does.
fn zlib_decompress(input: &[u8], cap: usize) -> Result<Vec<u8>, SigningError> {
    let bad = |what: String| SigningError::BadPayload(format!("invalid zlib data: {what}"));
    let too_big = || SigningError::BadPayload(format!("decompressed payload exceeds {cap} bytes"));
    let mut inflater = Decompress::new(true);
    let limit = cap.saturating_add(1);
    let mut out: Vec<u8> = Vec::with_capacity(input.len().saturating_mul(4).clamp(64, limit));
    loop {
        if out.len() > cap {
            return Err(too_big());
        }
        if out.len() == out.capacity() {
            let grow = out.len().max(64).min(limit - out.len());
            out.reserve_exact(grow);
        }
        let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
        let offset = usize::try_from(in_before).map_err(|err| bad(err.to_string()))?;
        let rest = input.get(offset..).unwrap_or_default();
        let status = inflater
            .decompress_vec(rest, &mut out, FlushDecompress::None)
            .map_err(|err| bad(err.to_string()))?;
        match status {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {
                let stalled =
                    inflater.total_in() == in_before && inflater.total_out() == out_before;
                if stalled && out.len() < out.capacity() {
                    return Err(bad("incomplete or truncated stream".to_owned()));
                }
            }
        }
    }
    if out.len() > cap {
        return Err(too_big());
    }
    Ok(out)
}

/// Python `json.dumps(obj, separators=(",", ":"))` bytes (`ensure_ascii`).
///
/// This is what `django.core.signing.JSONSerializer.dumps` produces: no
/// whitespace, keys in insertion order, every character outside printable
/// ASCII escaped as `\uXXXX` (lower-case hex, UTF-16 surrogate pairs for
/// astral characters), `\b \f \n \r \t \" \\` by name, and floats as Python's
/// `repr(float)` (`1e+16`, `1.5e-07`, `100.0`).
#[must_use]
pub fn python_json_bytes<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonJsonFormatter);
    // A `Value` or JSON map has only string keys and finite numbers, and a
    // `Vec` never fails to grow, so this cannot fail for them.
    let result = value.serialize(&mut serializer);
    debug_assert!(result.is_ok(), "serializing a Value into a Vec failed");
    out
}

/// `serde_json`'s compact formatter with Python's `ensure_ascii` string escaping
/// and `float.__repr__`.
struct PythonJsonFormatter;

impl Formatter for PythonJsonFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        // Session keys and values are mostly printable ASCII: checked in one pass over the
        // bytes, without an early exit so that the compiler checks many bytes at once, and
        // written whole rather than character by character (a fifth of the instructions of
        // Python JSON for the basic lesson's Redis value; BENCHMARKS.md, change 34).
        if fragment
            .bytes()
            .fold(true, |plain, byte| plain & is_plain_ascii(byte))
        {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (index, ch) in fragment.char_indices() {
            if u8::try_from(ch).is_ok_and(is_plain_ascii) {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..index])?;
            write_python_escape(writer, ch)?;
            start = index + ch.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W>(&mut self, writer: &mut W, char_escape: CharEscape) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let ch = match char_escape {
            CharEscape::Quote => '"',
            CharEscape::ReverseSolidus => '\\',
            CharEscape::Solidus => '/',
            CharEscape::Backspace => '\u{8}',
            CharEscape::FormFeed => '\u{c}',
            CharEscape::LineFeed => '\n',
            CharEscape::CarriageReturn => '\r',
            CharEscape::Tab => '\t',
            CharEscape::AsciiControl(byte) => char::from(byte),
        };
        write_python_escape(writer, ch)
    }

    fn write_f32<W>(&mut self, writer: &mut W, value: f32) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.write_f64(writer, f64::from(value))
    }

    fn write_f64<W>(&mut self, writer: &mut W, value: f64) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        writer.write_all(python_float_repr(value).as_bytes())
    }
}

/// Whether `json.encoder.py_encode_basestring_ascii` writes `byte` as it is: printable ASCII
/// other than `"` and `\`.
const fn is_plain_ascii(byte: u8) -> bool {
    matches!(byte, b' '..=b'~') && byte != b'"' && byte != b'\\'
}

/// One character as `json.encoder.py_encode_basestring_ascii` writes it
/// (printable ASCII other than `"` and `\` is written as is).
fn write_python_escape<W>(writer: &mut W, ch: char) -> io::Result<()>
where
    W: ?Sized + io::Write,
{
    let named: &[u8] = match ch {
        '"' => b"\\\"",
        '\\' => b"\\\\",
        '\n' => b"\\n",
        '\r' => b"\\r",
        '\t' => b"\\t",
        '\u{8}' => b"\\b",
        '\u{c}' => b"\\f",
        ' '..='~' => return write!(writer, "{ch}"),
        _ => {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            return Ok(());
        }
    };
    writer.write_all(named)
}

/// Python's `float.__repr__` (what `json.dumps` writes for a float): the
/// shortest round-tripping digits, positional when the decimal exponent is in
/// `-4 < decpt <= 16`, otherwise scientific with a signed two-digit exponent.
fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // Rust's `{:e}` gives the same shortest round-trip digits as Python's repr,
    // e.g. "-1.5e-7", "1e16", "0e0".
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let decpt = exponent + 1;
    let body = if decpt <= -4 || decpt > 16 {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{first}{dot}{rest}e{exp_sign}{:02}",
            exponent.unsigned_abs()
        )
    } else if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat(decpt.unsigned_abs() as usize))
    } else {
        let point = decpt.unsigned_abs() as usize;
        if point >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point - digits.len()))
        } else {
            let (int_part, frac_part) = digits.split_at(point);
            format!("{int_part}.{frac_part}")
        }
    };
    format!("{sign}{body}")
}

/// `django.core.signing.b62_encode`: base62 with the alphabet `0-9A-Za-z`,
/// negative numbers with a leading `-`.
#[must_use]
pub fn b62_encode(n: i64) -> String {
    if n == 0 {
        return "0".to_owned();
    }
    let mut magnitude = n.unsigned_abs();
    let mut digits = Vec::with_capacity(12);
    while magnitude > 0 {
        digits.push(char::from(BASE62_ALPHABET[(magnitude % 62) as usize]));
        magnitude /= 62;
    }
    if n < 0 {
        digits.push('-');
    }
    digits.iter().rev().collect()
}

/// `django.core.signing.b62_decode`. `None` where Django raises (empty string,
/// a character outside the alphabet) or the number does not fit in an `i64`.
/// Like Django, a lone `"-"` decodes to 0 and leading zeros are allowed.
#[must_use]
pub fn b62_decode(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut magnitude: u64 = 0;
    for byte in digits.bytes() {
        let digit = BASE62_ALPHABET.iter().position(|&c| c == byte)?;
        magnitude = magnitude.checked_mul(62)?.checked_add(digit as u64)?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const KEY: &str = "test-secret-key-for-reference";
    /// 2023-11-14T22:13:20Z, base62 "1r31eq".
    const T: i64 = 1_700_000_000;

    fn signer(salt: &str) -> Signer {
        Signer::new(KEY, &[], salt)
    }

    fn parse(json: &str) -> Value {
        serde_json::from_str(json).unwrap()
    }

    /// Signs an arbitrary (not necessarily well-formed) unsigned value with a
    /// genuine signature, to reach the checks that come after verification.
    fn sign_raw(signer: &Signer, value: &str) -> String {
        format!("{value}:{}", signature(&signer.primary, value))
    }

    fn bad_signature(result: Result<Value, SigningError>) -> BadSignatureReason {
        match result {
            Err(SigningError::BadSignature(reason)) => reason,
            other => panic!("expected BadSignature, got {other:?}"),
        }
    }

    fn bad_payload(result: Result<Value, SigningError>) -> String {
        match result {
            Err(SigningError::BadPayload(message)) => message,
            other => panic!("expected BadPayload, got {other:?}"),
        }
    }

    #[test]
    fn reference_vectors() {
        let data = json!({"name": "Sonam"});
        assert_eq!(b62_encode(T), "1r31eq");
        assert_eq!(
            signer(SESSION_SALT).sign_object(&data, true, T),
            "eyJuYW1lIjoiU29uYW0ifQ:1r31eq:fOmiU-luqUDe3iw9mjZIETFsblfz9WVUUyJCo8Bd1Fc"
        );
        assert_eq!(
            signer(SIGNED_COOKIES_SALT).sign_object(&data, true, T),
            "eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"
        );
    }

    /// One `django.core.signing.dumps` output.
    struct DjangoVector {
        name: &'static str,
        salt: &'static str,
        compress: bool,
        timestamp: i64,
        /// `json.dumps(obj, separators=(",", ":"))` of the signed object.
        json: &'static str,
        /// `signing.dumps(obj, salt=salt, compress=compress)` at `timestamp`.
        signed: &'static str,
    }

    // Produced with real Django 5.2.19 (CPython 3.11.7, its bundled zlib), in a
    // throw-away virtualenv outside the project:
    //
    //     from unittest import mock
    //     from django.conf import settings
    //     settings.configure(SECRET_KEY="test-secret-key-for-reference",
    //                        SECRET_KEY_FALLBACKS=[])
    //     from django.core import signing
    //     with mock.patch("time.time", return_value=t):
    //         signed = signing.dumps(obj, salt=salt, compress=compress)
    //     text = json.dumps(obj, separators=(",", ":"))
    //
    // with `obj` for each case, e.g. {"k": "a" * 200}, {"word": "café",
    // "jp": "日本", "emoji": "😀"}, {"name": "Sonam", "lname": "Tsering",
    // "age": 30}, {}, and `t` = 1700000000 except where noted (0, 1234567890.987).
    const DJANGO_VECTORS: &[DjangoVector] = &[
        DjangoVector {
            name: "ref_session",
            salt: SESSION_SALT,
            compress: true,
            timestamp: T,
            json: r#"{"name":"Sonam"}"#,
            signed: "eyJuYW1lIjoiU29uYW0ifQ:1r31eq:fOmiU-luqUDe3iw9mjZIETFsblfz9WVUUyJCo8Bd1Fc",
        },
        DjangoVector {
            name: "ref_cookies",
            salt: SIGNED_COOKIES_SALT,
            compress: true,
            timestamp: T,
            json: r#"{"name":"Sonam"}"#,
            signed: "eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk",
        },
        DjangoVector {
            name: "compressed_repetitive",
            salt: SESSION_SALT,
            compress: true,
            timestamp: T,
            json: r#"{"k":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#,
            signed: ".eJyrVspWslJKHCZAqRYAlOZN7g:1r31eq:6WeQtrKnVvCcXNpfN71r5qGXbncqIFZBGPe1n_NfTG8",
        },
        DjangoVector {
            name: "compressed_session_like",
            salt: SESSION_SALT,
            compress: true,
            timestamp: T,
            json: r#"{"_auth_user_id":"42","_auth_user_backend":"django.contrib.auth.backends.ModelBackend","_auth_user_hash":"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0","cart":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39],"visits":[{"path":"/lesson/0/","ok":true},{"path":"/lesson/1/","ok":false},{"path":"/lesson/2/","ok":true},{"path":"/lesson/3/","ok":false},{"path":"/lesson/4/","ok":true},{"path":"/lesson/5/","ok":false},{"path":"/lesson/6/","ok":true},{"path":"/lesson/7/","ok":false}]}"#,
            signed: ".eJyFj8tqhEAQRf-l1xe1qvqhLrPPF4RBWm2jGdFgazbD_HsUJpAhAbd17j1VdVOV39a-2mJYqqFVpdKs8HtY--YapoO0H356n5NmntZlqJMjkjxoTF7nNowvj-yToPex39tZR4FbaXRtvC1cnrvCelPrRloO1GVnfJc2fllV-UZgCDQMLBxyFKAMRCAGCUiDDMiCHCgHFeAMvHcYLGANNmALduAcXEAyCEF2pUA0xEAsxEFySHGB-hrisMZ97U19-vX4JB1DjPOUZul-03xV5bps4Y4_nH5458f4X4BPBHIm0CcCcyawJwL3LLjcvwHnSaXe:1r31eq:qmbEUxn-FRv9NO7dgSff-hln9_h6op-p_25kVdmpBDE",
        },
        DjangoVector {
            name: "uncompressed_long",
            salt: SESSION_SALT,
            compress: false,
            timestamp: T,
            json: r#"{"k":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#,
            signed: "eyJrIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEifQ:1r31eq:gxXsissckh_u9z2X5dE5TMcFdQcQyFxqpTV0Ea073xU",
        },
        DjangoVector {
            name: "non_ascii",
            salt: SESSION_SALT,
            compress: false,
            timestamp: T,
            json: r#"{"word":"caf\u00e9","jp":"\u65e5\u672c","emoji":"\ud83d\ude00"}"#,
            signed: "eyJ3b3JkIjoiY2FmXHUwMGU5IiwianAiOiJcdTY1ZTVcdTY3MmMiLCJlbW9qaSI6Ilx1ZDgzZFx1ZGUwMCJ9:1r31eq:zswhjychie1Q1UCdhjxSrh_sBSgHIXF3XJLYUgLtpK4",
        },
        DjangoVector {
            name: "non_ascii_cookies_compress",
            salt: SIGNED_COOKIES_SALT,
            compress: true,
            timestamp: T,
            json: r#"{"word":"caf\u00e9","jp":"\u65e5\u672c","emoji":"\ud83d\ude00"}"#,
            signed: "eyJ3b3JkIjoiY2FmXHUwMGU5IiwianAiOiJcdTY1ZTVcdTY3MmMiLCJlbW9qaSI6Ilx1ZDgzZFx1ZGUwMCJ9:1r31eq:dtaK73f0MJcYsHkL9XJNH8gC0rbTe1oZL8hBt8Q0AGM",
        },
        DjangoVector {
            name: "nested",
            salt: SESSION_SALT,
            compress: false,
            timestamp: T,
            json: r#"{"a":{"b":[1,2,{"c":null}],"d":true,"e":false},"list":[[],{},[[]]],"n":-42,"big":12345678901234567890,"neg_big":-9223372036854775808}"#,
            signed: "eyJhIjp7ImIiOlsxLDIseyJjIjpudWxsfV0sImQiOnRydWUsImUiOmZhbHNlfSwibGlzdCI6W1tdLHt9LFtbXV1dLCJuIjotNDIsImJpZyI6MTIzNDU2Nzg5MDEyMzQ1Njc4OTAsIm5lZ19iaWciOi05MjIzMzcyMDM2ODU0Nzc1ODA4fQ:1r31eq:jpd9fWDHrkEipF0Y8tCPCKAVwIqVM-8jh3PokNUQw1A",
        },
        DjangoVector {
            name: "key_order",
            salt: SESSION_SALT,
            compress: false,
            timestamp: T,
            json: r#"{"name":"Sonam","lname":"Tsering","age":30}"#,
            signed: "eyJuYW1lIjoiU29uYW0iLCJsbmFtZSI6IlRzZXJpbmciLCJhZ2UiOjMwfQ:1r31eq:43lJTyUMT81NhkexlwdNObsJF8-tmUGUlvrMtKiBGwU",
        },
        DjangoVector {
            name: "empty_dict",
            salt: SESSION_SALT,
            compress: false,
            timestamp: T,
            json: r#"{}"#,
            signed: "e30:1r31eq:Ren7aGDdewkxap09vxhaAPteIGTKmwEEzU9rSqewsP4",
        },
        DjangoVector {
            name: "empty_dict_compress",
            salt: SESSION_SALT,
            compress: true,
            timestamp: T,
            json: r#"{}"#,
            signed: "e30:1r31eq:Ren7aGDdewkxap09vxhaAPteIGTKmwEEzU9rSqewsP4",
        },
        DjangoVector {
            name: "control_chars",
            salt: SESSION_SALT,
            compress: false,
            timestamp: T,
            json: r#"{"ctl":"\u0000\u0001\b\u000b\f\u001f\u007f","named":"\b\f\n\r\t\"\\/","unicode_edges":"\u0080\u00ff\u2028\u2029\ufeff\uffff\ud800\udc00\udbff\udfff","k\ney\u00e9":"key needs escaping too"}"#,
            signed: "eyJjdGwiOiJcdTAwMDBcdTAwMDFcYlx1MDAwYlxmXHUwMDFmXHUwMDdmIiwibmFtZWQiOiJcYlxmXG5cclx0XCJcXC8iLCJ1bmljb2RlX2VkZ2VzIjoiXHUwMDgwXHUwMGZmXHUyMDI4XHUyMDI5XHVmZWZmXHVmZmZmXHVkODAwXHVkYzAwXHVkYmZmXHVkZmZmIiwia1xuZXlcdTAwZTkiOiJrZXkgbmVlZHMgZXNjYXBpbmcgdG9vIn0:1r31eq:FWIhbBCTI9WC0wIz6gol_6xWSrFboG-jG6hqSpCPdQ8",
        },
        DjangoVector {
            name: "top_level_string",
            salt: DEFAULT_SALT,
            compress: false,
            timestamp: T,
            json: r#""hello""#,
            signed: "ImhlbGxvIg:1r31eq:UgrDTOTMKxK3J2nE_eMC0PH9BTnrh6ZzDomXBNUCw9A",
        },
        DjangoVector {
            name: "top_level_int",
            salt: DEFAULT_SALT,
            compress: false,
            timestamp: T,
            json: r#"42"#,
            signed: "NDI:1r31eq:ujbrx59xfDfGdqQg2IO5N1Njpq_ZYMaB2n3RG9TuzwA",
        },
        DjangoVector {
            name: "top_level_list",
            salt: SESSION_SALT,
            compress: false,
            timestamp: T,
            json: r#"[1,"two",null,true]"#,
            signed: "WzEsInR3byIsbnVsbCx0cnVlXQ:1r31eq:eRhO8KDdioU0qOPhg7ZXct6za2D1Drv8SFpqCHdLzL0",
        },
        DjangoVector {
            name: "time_zero",
            salt: SESSION_SALT,
            compress: false,
            timestamp: 0,
            json: r#"{"t":0}"#,
            signed: "eyJ0IjowfQ:0:bLTqH14WFZz31UzxKDpu_4CMhmS0DUOjyjtxcqhzquI",
        },
        DjangoVector {
            name: "time_fractional",
            salt: SESSION_SALT,
            compress: false,
            timestamp: 1_234_567_890,
            json: r#"{"t":"frac"}"#,
            signed: "eyJ0IjoiZnJhYyJ9:1LY7VK:odOnKA7vL6i7bLAVdWcHZf1-ie8_Jdq2mkVzMS-4XgQ",
        },
        DjangoVector {
            name: "floats",
            salt: SESSION_SALT,
            compress: false,
            timestamp: T,
            json: r#"[0.1,1.0,-0.0,2.5,1e+16,1000000000000000.0,1.5e-07,0.0001,1e-05,123456789.123,1e+300,5e-324,1.7976931348623157e+308,-3.25e-10,100.0]"#,
            signed: "WzAuMSwxLjAsLTAuMCwyLjUsMWUrMTYsMTAwMDAwMDAwMDAwMDAwMC4wLDEuNWUtMDcsMC4wMDAxLDFlLTA1LDEyMzQ1Njc4OS4xMjMsMWUrMzAwLDVlLTMyNCwxLjc5NzY5MzEzNDg2MjMxNTdlKzMwOCwtMy4yNWUtMTAsMTAwLjBd:1r31eq:UF3wsBqDtBNuHbMFhkbUIP4dC1ic8cP2NNV8gpxr37g",
        },
    ];

    #[test]
    fn django_vectors_json_text_is_python_json() {
        for v in DJANGO_VECTORS {
            let value = parse(v.json);
            assert_eq!(
                String::from_utf8(python_json_bytes(&value)).unwrap(),
                v.json,
                "{}",
                v.name
            );
        }
    }

    /// Every vector whose Django output is not zlib-compressed: byte-identical
    /// whatever flate2 backend is in use.
    #[test]
    fn django_vectors_sign_byte_identical() {
        let mut checked = 0;
        for v in DJANGO_VECTORS.iter().filter(|v| !v.signed.starts_with('.')) {
            let signed =
                Signer::new(KEY, &[], v.salt).sign_object(&parse(v.json), v.compress, v.timestamp);
            assert_eq!(signed, v.signed, "{}", v.name);
            checked += 1;
        }
        assert_eq!(checked, 16);
    }

    /// Vectors Django compressed: ours is compressed too, carries the same JSON
    /// and timestamp and verifies, whatever flate2's backend. (The zlib bytes
    /// themselves match on C zlib, which the next test checks.)
    #[test]
    fn django_vectors_compressed_sign_equivalent() {
        let mut checked = 0;
        for v in DJANGO_VECTORS.iter().filter(|v| v.signed.starts_with('.')) {
            let signer = Signer::new(KEY, &[], v.salt);
            let ours = signer.sign_object(&parse(v.json), v.compress, v.timestamp);
            assert!(ours.starts_with('.'), "{}", v.name);
            let ours_payload = signer.unsign(&ours, None, v.timestamp).unwrap();
            let django_payload = signer.unsign(v.signed, None, v.timestamp).unwrap();
            let inflate = |payload: &str| {
                let packed = B64_LENIENT.decode(&payload[1..]).unwrap();
                zlib_decompress(&packed, MAX_DECOMPRESSED_SIZE).unwrap()
            };
            assert_eq!(inflate(ours_payload), v.json.as_bytes(), "{}", v.name);
            assert_eq!(inflate(django_payload), v.json.as_bytes(), "{}", v.name);
            assert_eq!(signer.signed_timestamp(&ours).unwrap(), v.timestamp);
            checked += 1;
        }
        assert_eq!(checked, 2);
    }

    /// The compressed vectors byte for byte: flate2 is built with C zlib, as
    /// CPython's `zlib.compress` is.
    #[test]
    fn django_vectors_compressed_sign_byte_identical() {
        for v in DJANGO_VECTORS.iter().filter(|v| v.signed.starts_with('.')) {
            let signed =
                Signer::new(KEY, &[], v.salt).sign_object(&parse(v.json), v.compress, v.timestamp);
            assert_eq!(signed, v.signed, "{}", v.name);
        }
    }

    #[test]
    fn django_vectors_unsign() {
        for v in DJANGO_VECTORS {
            let signer = Signer::new(KEY, &[], v.salt);
            let value = signer.unsign_object(v.signed, None, v.timestamp).unwrap();
            assert_eq!(value, parse(v.json), "{}", v.name);
            // Same key order as Django wrote it.
            assert_eq!(python_json_bytes(&value), v.json.as_bytes(), "{}", v.name);
            assert_eq!(
                signer.signed_timestamp(v.signed).unwrap(),
                v.timestamp,
                "{}",
                v.name
            );
            assert_eq!(
                signer
                    .unsign_object(v.signed, Some(0), v.timestamp)
                    .unwrap(),
                value
            );
        }
    }

    #[test]
    fn django_vectors_cover_both_payload_kinds() {
        assert!(DJANGO_VECTORS.iter().any(|v| v.signed.starts_with('.')));
        assert!(
            DJANGO_VECTORS
                .iter()
                .any(|v| v.compress && !v.signed.starts_with('.'))
        );
    }

    #[test]
    fn floats_match_python_repr() {
        // Rust literals, so no JSON float parsing is involved; the expected text
        // is Python's json.dumps of the same list (the "floats" vector).
        let value = json!([
            0.1,
            1.0,
            -0.0,
            2.5,
            1e16,
            1e15,
            1.5e-7,
            0.0001,
            1e-5,
            123_456_789.123,
            1e300,
            5e-324,
            f64::MAX,
            -3.25e-10,
            100.0
        ]);
        assert_eq!(
            String::from_utf8(python_json_bytes(&value)).unwrap(),
            "[0.1,1.0,-0.0,2.5,1e+16,1000000000000000.0,1.5e-07,0.0001,1e-05,\
             123456789.123,1e+300,5e-324,1.7976931348623157e+308,-3.25e-10,100.0]"
        );
        assert_eq!(python_float_repr(0.0), "0.0");
        assert_eq!(python_float_repr(-1.0), "-1.0");
        assert_eq!(python_float_repr(1e22), "1e+22");
        assert_eq!(python_float_repr(1.25e-300), "1.25e-300");
        assert_eq!(python_float_repr(0.001_234_5), "0.0012345");
        assert_eq!(python_float_repr(f64::NAN), "NaN");
        assert_eq!(python_float_repr(f64::INFINITY), "Infinity");
        assert_eq!(python_float_repr(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn python_json_escapes() {
        let value = json!({"</script>": "a/b \u{7f}\u{80}ÿ 😀 \u{0}\"\\", "e": []});
        assert_eq!(
            String::from_utf8(python_json_bytes(&value)).unwrap(),
            r#"{"</script>":"a/b \u007f\u0080\u00ff \ud83d\ude00 \u0000\"\\","e":[]}"#
        );
        assert_eq!(python_json_bytes(&json!(null)), b"null");
        assert_eq!(python_json_bytes(&json!(u64::MAX)), b"18446744073709551615");
    }

    #[test]
    fn an_f32_is_written_as_python_writes_the_double_it_widens_to() {
        // What Python's json.dumps writes for float(numpy.float32(x)).
        assert_eq!(
            String::from_utf8(python_json_bytes(&[1.5f32, 0.1, 1e16, -2.5e-8])).unwrap(),
            "[1.5,0.10000000149011612,1.0000000272564224e+16,-2.5000000292152436e-08]"
        );
    }

    #[test]
    fn raw_utf8_payload_reads_as_latin1_like_django() {
        // TimestampSigner(salt=SESSION_SALT).sign(b64_encode('{"w":"café"}'.encode()))
        // at 1700000000; Django's loads() gives {'w': 'cafÃ©'}.
        let signed = "eyJ3IjoiY2Fmw6kifQ:1r31eq:0VbsOxJitROTj5Z_Emezl9ZvlQ-ezP8GEdQPBgecvC8";
        let value = signer(SESSION_SALT).unsign_object(signed, None, T).unwrap();
        assert_eq!(value, json!({"w": "caf\u{c3}\u{a9}"}));
    }

    #[test]
    fn lone_dash_timestamp_is_zero_like_django() {
        // Signer(salt=SESSION_SALT).sign("e30:-"); TimestampSigner.unsign gives "e30".
        let signed = "e30:-:rKSbFCes9ffvbLRIP0AQobsm5lBDvyWeZxwCbg9koAM";
        let signer = signer(SESSION_SALT);
        assert_eq!(signer.unsign_object(signed, None, T).unwrap(), json!({}));
        assert_eq!(signer.signed_timestamp(signed).unwrap(), 0);
    }

    #[test]
    fn base62() {
        let cases: &[(i64, &str)] = &[
            (0, "0"),
            (1, "1"),
            (-1, "-1"),
            (61, "z"),
            (62, "10"),
            (T, "1r31eq"),
            (-T, "-1r31eq"),
            (1_234_567_890, "1LY7VK"),
            (i64::MAX, "AzL8n0Y58m7"),
            (i64::MIN, "-AzL8n0Y58m8"),
        ];
        for &(n, text) in cases {
            assert_eq!(b62_encode(n), text);
            assert_eq!(b62_decode(text), Some(n), "{text}");
        }
        assert_eq!(b62_decode("00"), Some(0));
        assert_eq!(b62_decode("-"), Some(0));
        assert_eq!(b62_decode("-0"), Some(0));
        for bad in [
            "",
            "!",
            " 1",
            "1 ",
            "--1",
            "1-",
            "é",
            "AzL8n0Y58m8",
            "-AzL8n0Y58m9",
            "zzzzzzzzzzzzzzzzzzzz",
        ] {
            assert_eq!(b62_decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn round_trips() {
        let long: String = (0..500).map(|i| char::from(b'a' + (i % 7) as u8)).collect();
        let values = [
            json!({}),
            json!([]),
            json!("plain"),
            json!({"name": "Sonam", "lname": "Tsering", "age": 30, "tags": ["x", {"y": null}]}),
            json!({"text": "café 日本 😀 \n\t\u{0}\u{7f}"}),
            json!({"long": long}),
            json!({"f": [0.5, -1e-9, 3.0e20]}),
        ];
        let signer = signer(SESSION_SALT);
        for value in &values {
            for compress in [false, true] {
                let signed = signer.sign_object(value, compress, T);
                assert_eq!(
                    &signer.unsign_object(&signed, Some(10), T + 10).unwrap(),
                    value
                );
                assert_eq!(signer.signed_timestamp(&signed).unwrap(), T);
            }
        }
        // Long, repetitive data really is compressed.
        assert!(signer.sign_object(&values[5], true, T).starts_with('.'));
        assert!(!signer.sign_object(&values[5], false, T).starts_with('.'));
    }

    #[test]
    fn negative_and_extreme_timestamps_round_trip() {
        let signer = signer(SESSION_SALT);
        for ts in [0, -1, -T, i64::MIN, i64::MAX] {
            let signed = signer.sign_object(&json!({"t": ts}), false, ts);
            assert_eq!(signer.signed_timestamp(&signed).unwrap(), ts);
            assert_eq!(
                signer.unsign_object(&signed, None, 0).unwrap(),
                json!({"t": ts})
            );
        }
        // Ages that overflow saturate instead of panicking.
        let ancient = signer.sign_object(&json!(1), false, i64::MIN);
        assert!(matches!(
            signer.unsign_object(&ancient, Some(0), i64::MAX),
            Err(SigningError::SignatureExpired {
                age: i64::MAX,
                max_age: 0
            })
        ));
    }

    #[test]
    fn fallback_keys() {
        // signing.dumps({"rotated": True}, key="old-secret-key", salt=SESSION_SALT)
        // at 1700000000, with real Django 5.2.19.
        let from_old_key =
            "eyJyb3RhdGVkIjp0cnVlfQ:1r31eq:2ojErNR5uwQ0-9Sj7eCnE4YzGuh1O2Eo0Xw-KRr0I0o";
        let value = json!({"rotated": true});
        let old = Signer::new("old-secret-key", &[], SESSION_SALT);
        assert_eq!(old.sign_object(&value, false, T), from_old_key);

        let without = signer(SESSION_SALT);
        assert_eq!(
            bad_signature(without.unsign_object(from_old_key, None, T)),
            BadSignatureReason::Mismatch
        );
        assert!(without.signed_timestamp(from_old_key).is_err());

        let fallbacks = ["unrelated".to_owned(), "old-secret-key".to_owned()];
        let with = Signer::new(KEY, &fallbacks, SESSION_SALT);
        assert_eq!(with.unsign_object(from_old_key, None, T).unwrap(), value);
        assert_eq!(with.signed_timestamp(from_old_key).unwrap(), T);
        // New values are always signed with the current key.
        assert_eq!(
            with.sign_object(&value, false, T),
            without.sign_object(&value, false, T)
        );
        // The fallback is tied to the salt like the primary key.
        let other_salt = Signer::new(KEY, &fallbacks, SIGNED_COOKIES_SALT);
        assert!(other_salt.unsign_object(from_old_key, None, T).is_err());
    }

    #[test]
    fn salts_are_separate() {
        let signed = signer(SESSION_SALT).sign_object(&json!({"a": 1}), false, T);
        assert_eq!(
            bad_signature(signer(SIGNED_COOKIES_SALT).unsign_object(&signed, None, T)),
            BadSignatureReason::Mismatch
        );
        assert!(
            signer(DEFAULT_SALT)
                .unsign_object(&signed, None, T)
                .is_err()
        );
        assert!(
            Signer::new("other-key", &[], SESSION_SALT)
                .unsign_object(&signed, None, T)
                .is_err()
        );
    }

    #[test]
    fn tampering_is_a_bad_signature() {
        let signer = signer(SESSION_SALT);
        let good = "eyJuYW1lIjoiU29uYW0iLCJsbmFtZSI6IlRzZXJpbmciLCJhZ2UiOjMwfQ:1r31eq:43lJTyUMT81NhkexlwdNObsJF8-tmUGUlvrMtKiBGwU";
        assert!(signer.unsign_object(good, None, T).is_ok());
        let compressed = signer.sign_object(&json!({"k": "a".repeat(200)}), true, T);
        for original in [good.to_owned(), compressed] {
            for index in 0..original.len() {
                let mut bytes = original.clone().into_bytes();
                if bytes[index] == b':' {
                    continue;
                }
                bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
                let tampered = String::from_utf8(bytes).unwrap();
                assert_eq!(
                    bad_signature(signer.unsign_object(&tampered, None, T)),
                    BadSignatureReason::Mismatch,
                    "{tampered}"
                );
            }
        }
        let (value, sig) = good.rsplit_once(':').unwrap();
        let variants = [
            format!("{value}:"),
            format!("{value}:{}", &sig[..sig.len() - 1]),
            format!("{good}="),
            format!("{good}:{sig}"),
            format!("x{good}"),
            format!(".{good}"),
            format!("{value}:{}", sig.to_ascii_lowercase()),
            value.to_owned(),
            good.replacen("1r31eq", "1r31ep", 1),
            good.replacen("1r31eq", "01r31eq", 1),
        ];
        for tampered in &variants {
            assert!(
                matches!(
                    signer.unsign_object(tampered, None, T),
                    Err(SigningError::BadSignature(_))
                ),
                "{tampered}"
            );
        }
    }

    #[test]
    fn max_age() {
        let signer = signer(SESSION_SALT);
        let signed = signer.sign_object(&json!({"name": "Sonam"}), true, T);
        assert!(signer.unsign_object(&signed, Some(100), T + 100).is_ok());
        let err = signer
            .unsign_object(&signed, Some(99), T + 100)
            .unwrap_err();
        assert!(matches!(
            err,
            SigningError::SignatureExpired {
                age: 100,
                max_age: 99
            }
        ));
        assert!(err.is_bad_signature());
        assert_eq!(err.to_string(), "signature expired: age 100 > 99 seconds");
        // A timestamp from the future is never expired (negative age), and no
        // max_age means no expiry.
        assert!(signer.unsign_object(&signed, Some(0), T - 1_000).is_ok());
        assert!(signer.unsign_object(&signed, None, i64::MAX).is_ok());
        // Expiry is only judged after the signature: a forged value is a bad
        // signature, not an expired one.
        let forged = signed.replacen("1r31eq", "1r31ep", 1);
        assert!(matches!(
            signer.unsign_object(&forged, Some(0), i64::MAX),
            Err(SigningError::BadSignature(BadSignatureReason::Mismatch))
        ));
        // TimestampSigner.unsign gives back the payload only.
        assert_eq!(
            signer.unsign(&signed, Some(5), T).unwrap(),
            "eyJuYW1lIjoiU29uYW0ifQ"
        );
    }

    #[test]
    fn unsign_reads_a_value_exactly_max_age_old_and_expires_it_a_second_later() {
        // TimestampSigner.unsign raises SignatureExpired only when `age > max_age`.
        let signer = signer(SESSION_SALT);
        let signed = signer.sign("instructor", T);
        assert_eq!(
            signer.unsign(&signed, Some(60), T + 60).unwrap(),
            "instructor"
        );
        assert!(matches!(
            signer.unsign(&signed, Some(60), T + 61),
            Err(SigningError::SignatureExpired {
                age: 61,
                max_age: 60
            })
        ));
    }

    #[test]
    fn malformed_signed_part_after_a_genuine_signature() {
        let signer = signer(SESSION_SALT);
        assert_eq!(
            bad_signature(signer.unsign_object(&sign_raw(&signer, "e30"), None, T)),
            BadSignatureReason::MissingTimestamp
        );
        for bad_ts in [
            "e30:",
            "e30:!!",
            "e30:1r31eq ",
            "e30:AzL8n0Y58m8",
            "e30:--1",
        ] {
            let signed = sign_raw(&signer, bad_ts);
            assert_eq!(
                bad_signature(signer.unsign_object(&signed, None, T)),
                BadSignatureReason::BadTimestamp,
                "{bad_ts}"
            );
            assert!(signer.signed_timestamp(&signed).is_err());
        }
    }

    #[test]
    fn garbage_is_rejected_without_panicking() {
        let signer = signer(SESSION_SALT);
        let big_dot = format!(".{}", "A".repeat(100_000));
        let inputs = [
            "",
            ":",
            "::",
            ":::",
            "a:b:c",
            "a:b:c:d",
            "no separator at all",
            "é:ü:日本",
            "!!!:1r31eq:zzz",
            "e30:1r31eq:",
            ":1r31eq:Ren7aGDdewkxap09vxhaAPteIGTKmwEEzU9rSqewsP4",
            big_dot.as_str(),
        ];
        for input in inputs {
            let err = signer.unsign_object(input, None, T).unwrap_err();
            assert!(err.is_bad_signature(), "{input:?}: {err}");
            assert!(signer.signed_timestamp(input).is_err());
            assert!(signer.unsign_object(input, Some(1), T).is_err());
        }
        assert_eq!(
            bad_signature(signer.unsign_object("", None, T)),
            BadSignatureReason::MissingSeparator
        );
    }

    #[test]
    fn genuine_signature_over_a_bad_payload() {
        let signer = signer(SESSION_SALT);
        let cases = [
            ("", "invalid JSON"),
            ("!!!!", "invalid base64"),
            ("e", "invalid base64"),
            ("bm90IGpzb24", "invalid JSON"), // "not json"
            ("e30x", "invalid JSON"),        // "{}" + junk byte
            (".", "invalid zlib data"),
            (".e30", "invalid zlib data"), // "{}" is not a zlib stream
            ("..e30", "invalid base64"),
        ];
        for (payload, expected) in cases {
            let signed = signer.sign(payload, T);
            let message = bad_payload(signer.unsign_object(&signed, None, T));
            assert!(message.contains(expected), "{payload:?}: {message}");
            // Only the signature and timestamp are looked at here.
            assert_eq!(signer.signed_timestamp(&signed).unwrap(), T);
        }
        let big_dot = format!(".{}", "A".repeat(100_000));
        let message = bad_payload(signer.unsign_object(&signer.sign(&big_dot, T), None, T));
        assert!(message.contains("invalid zlib data"), "{message}");
    }

    fn signed_zlib(signer: &Signer, data: &[u8]) -> String {
        let packed = zlib_compress(data, usize::MAX).unwrap();
        signer.sign(&format!(".{}", URL_SAFE_NO_PAD.encode(packed)), T)
    }

    /// What a compressor of its own writes for `data`: Python's `zlib.compress(data)`.
    fn fresh_zlib(data: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn the_reused_compressor_writes_what_a_fresh_one_does_and_stops_at_the_limit() {
        let repetitive = format!(r#"{{"a":"{}"}}"#, "ab".repeat(400));
        let incompressible: Vec<u8> = (0u32..600)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        // 70,000 bytes of an LCG's top bits do not compress at all: zlib writes them as five
        // stored blocks, 31 bytes more than the input, where the room it is given (zlib's
        // compressBound) is 34 more, counting a byte per 4 KiB and one per 16 KiB.
        let mut state = 0u64;
        let noise: Vec<u8> = (0..70_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 56) as u8
            })
            .collect();
        let inputs: [&[u8]; 5] = [
            repetitive.as_bytes(),
            br#"{"name":"Sonam","lname":"rathore"}"#,
            &incompressible,
            &noise,
            b"",
        ];
        // Twice round, so each input also follows a different one through the same state.
        for data in inputs.iter().chain(inputs.iter()) {
            let fresh = fresh_zlib(data);
            assert_eq!(zlib_compress(data, usize::MAX).as_ref(), Some(&fresh));
            assert_eq!(zlib_compress(data, fresh.len()).as_ref(), Some(&fresh));
            assert_eq!(zlib_compress(data, fresh.len() - 1), None);
        }
        // What sign_object decides: compressed only when two bytes shorter.
        let signer = signer(SESSION_SALT);
        let short = json!({"name": "Sonam", "lname": "rathore"});
        assert!(!signer.sign_object(&short, true, T).starts_with('.'));
        let long = json!({"a": "ab".repeat(400)});
        let signed = signer.sign_object(&long, true, T);
        assert!(signed.starts_with('.'));
        assert_eq!(signer.unsign_object(&signed, None, T).unwrap(), long);
    }

    #[test]
    fn truncated_and_trailing_zlib() {
        let signer = signer(SESSION_SALT);
        let packed = zlib_compress(
            br#"{"a":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#,
            usize::MAX,
        )
        .unwrap();
        for cut in 1..packed.len() {
            let signed = signer.sign(&format!(".{}", URL_SAFE_NO_PAD.encode(&packed[..cut])), T);
            let message = bad_payload(signer.unsign_object(&signed, None, T));
            assert!(
                message.contains("invalid zlib data"),
                "cut {cut}: {message}"
            );
        }
        // Python's zlib.decompress ignores bytes after the end of the stream.
        let mut trailing = packed.clone();
        trailing.extend_from_slice(b"garbage");
        let signed = signer.sign(&format!(".{}", URL_SAFE_NO_PAD.encode(&trailing)), T);
        assert_eq!(
            signer.unsign_object(&signed, None, T).unwrap(),
            json!({"a": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
        );
    }

    #[test]
    fn zlib_bomb_is_a_bad_payload() {
        let signer = signer(SESSION_SALT);
        let bomb = signed_zlib(&signer, &vec![b' '; 64 * 1024 * 1024]);
        assert!(
            bomb.len() < 200_000,
            "the bomb should be small: {}",
            bomb.len()
        );
        let message = bad_payload(signer.unsign_object(&bomb, None, T));
        assert!(message.contains("exceeds 4194304 bytes"), "{message}");
    }

    #[test]
    fn decompression_cap_boundary() {
        let signer = signer(SESSION_SALT);
        // A JSON string of exactly 4 MiB (with its quotes), the cap the constant documents:
        // written out, so that a smaller cap fails here rather than moving the test with it.
        let four_mib = 4 * 1024 * 1024;
        let at_cap = json!("a".repeat(four_mib - 2));
        let signed = signer.sign_object(&at_cap, true, T);
        assert!(signed.starts_with('.'));
        assert_eq!(signer.unsign_object(&signed, None, T).unwrap(), at_cap);

        let over_cap = json!("a".repeat(four_mib - 1));
        let signed = signer.sign_object(&over_cap, true, T);
        let message = bad_payload(signer.unsign_object(&signed, None, T));
        assert!(message.contains("exceeds"), "{message}");
        // Uncompressed payloads are not capped (their size is the input's).
        let plain = signer.sign_object(&over_cap, false, T);
        assert_eq!(signer.unsign_object(&plain, None, T).unwrap(), over_cap);
    }

    #[test]
    fn a_stream_of_exactly_the_cap_fits_a_buffer_of_at_most_one_byte_more() {
        // 64 bytes start the buffer full at the cap; 1,000 make it double to 512 and then
        // stop at 1,001 rather than 1,024. A stream cut short when its output is exactly the
        // cap is truncated, not too large.
        for len in [64, 1_000] {
            // Arrange
            let data = vec![b'a'; len];
            let packed = zlib_compress(&data, usize::MAX).unwrap();

            // Act
            let at_cap = zlib_decompress(&packed, len).unwrap();
            let under_cap = zlib_decompress(&packed, len - 1);
            // Without its checksum the stream gives all `len` bytes and then stops short.
            let unchecked = zlib_decompress(&packed[..packed.len() - 4], len);

            // Assert
            assert_eq!(at_cap, data);
            assert!(at_cap.capacity() <= len + 1, "{len}: {}", at_cap.capacity());
            let message = match under_cap {
                Err(SigningError::BadPayload(message)) => message,
                other => panic!("{len}: expected BadPayload, got {other:?}"),
            };
            assert_eq!(
                message,
                format!("decompressed payload exceeds {} bytes", len - 1)
            );
            let message = match unchecked {
                Err(SigningError::BadPayload(message)) => message,
                other => panic!("{len}: expected BadPayload, got {other:?}"),
            };
            assert_eq!(message, "invalid zlib data: incomplete or truncated stream");
        }
    }

    #[test]
    fn padded_and_non_canonical_base64_payloads_are_accepted_like_python() {
        let signer = signer(SESSION_SALT);
        // "e30=" is b64encode(b"{}") with its padding; "e31" has non-zero trailing bits.
        for payload in ["e30=", "e31"] {
            let signed = signer.sign(payload, T);
            assert_eq!(
                signer.unsign_object(&signed, None, T).unwrap(),
                json!({}),
                "{payload}"
            );
        }
    }

    #[test]
    fn errors_and_debug_never_show_secrets() {
        let signer = Signer::new(KEY, &["old-secret-key".to_owned()], SESSION_SALT);
        let debug = format!("{signer:?}");
        assert_eq!(debug, "Signer { fallback_keys: 1, .. }");
        let errors = [
            signer.unsign_object("", None, T).unwrap_err(),
            signer
                .unsign_object("e30:1r31eq:nope", None, T)
                .unwrap_err(),
            signer
                .unsign_object(&sign_raw(&signer, "e30:!"), None, T)
                .unwrap_err(),
            signer
                .unsign_object(&signer.sign(".e30", T), None, T)
                .unwrap_err(),
        ];
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages[0],
            "bad signature: no \":\" separator found in value"
        );
        assert_eq!(messages[1], "bad signature: signature does not match");
        assert_eq!(
            messages[2],
            "bad signature: timestamp is not a valid base62 number"
        );
        assert!(messages[3].starts_with("bad payload: invalid zlib data"));
        for message in &messages {
            assert!(!message.contains(KEY) && !message.contains("old-secret-key"));
        }
        assert!(errors[0].is_bad_signature() && !errors[3].is_bad_signature());
    }
}
