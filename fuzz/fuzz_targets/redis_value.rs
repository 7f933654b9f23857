//! Fuzz target `redis_value`: see `sessionlab_fuzz::checks::redis_value` for how the bytes are read and
//! what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sessionlab_fuzz::checks::redis_value(data));
