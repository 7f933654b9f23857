//! Fuzz target `session_key`: see `sessionlab_fuzz::checks::session_key` for how the bytes are read and
//! what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sessionlab_fuzz::checks::session_key(data));
