#![no_main]

// Each target uses its own part of the shared modules.
#[allow(dead_code)]
#[path = "../../tests/support/workload.rs"]
mod workload;
#[allow(dead_code)]
#[path = "../../tests/support/fuzz_inputs.rs"]
mod fuzz_inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_inputs::lsp_any(data));
