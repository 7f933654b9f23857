//! Fuzz target `stored_expiry`: see `sessionlab_fuzz::checks::stored_expiry` for how the bytes are read and
//! what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sessionlab_fuzz::checks::stored_expiry(data));
