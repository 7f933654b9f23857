//! What sessionlab's fuzz targets check. Each target in `fuzz_targets/` is one line that hands
//! libFuzzer's bytes to a function of [`checks`]; `tests/properties.rs` compiles the same two
//! files to run the checks on proptest's inputs and on the committed corpus in `cargo test`.

pub mod checks;
pub mod django;
