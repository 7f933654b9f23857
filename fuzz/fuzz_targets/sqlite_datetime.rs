//! Fuzz target `sqlite_datetime`: see `sessionlab_fuzz::checks::sqlite_datetime` for how the bytes are read and
//! what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sessionlab_fuzz::checks::sqlite_datetime(data));
