//! Fuzz target `cookie_header`: see `sessionlab_fuzz::checks::cookie_header` for how the bytes are read and
//! what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sessionlab_fuzz::checks::cookie_header(data));
