//! Every input that once crashed a fuzz target, replayed through the same code. A file's name
//! says which target found it: `split-…`, `parse_extract-…`, `analysis-…` or `lsp-…`.

#[path = "support/fuzz_inputs.rs"]
mod fuzz_inputs;
#[path = "support/workload.rs"]
mod workload;

#[test]
fn inputs_that_once_crashed_a_fuzz_target_run_through() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let data = std::fs::read(&path).unwrap();
        match name.split_once('-').map(|(target, _)| target) {
            Some("split") => fuzz_inputs::split_any(&data),
            Some("parse_extract") => fuzz_inputs::parse_extract_any(&data),
            Some("analysis") => fuzz_inputs::analysis_any(&data),
            Some("lsp") => fuzz_inputs::lsp_any(&data),
            _ => panic!("{name}: name it after the fuzz target that found it"),
        }
        replayed += 1;
    }
    assert!(replayed > 0);
}

/// The language server target's seed session (out-of-range positions, a file that does not
/// exist, an unknown method, text that is not JSON, a second `initialize`) runs through.
#[test]
fn the_language_server_target_runs_its_seed_session() {
    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/lsp-session");
    fuzz_inputs::lsp_any(&std::fs::read(seed).unwrap());
}
