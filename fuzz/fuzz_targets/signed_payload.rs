//! Fuzz target `signed_payload`: see `sessionlab_fuzz::checks::signed_payload` for how the bytes are read and
//! what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sessionlab_fuzz::checks::signed_payload(data));
