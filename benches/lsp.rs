//! Criterion benchmark of the language server's re-analysis: a generated workspace of 1,000
//! transactions (`benches/workload/mod.rs`) written to a temporary directory and loaded once,
//! then checked again with one transaction file edited in the editor, as after a keystroke.
//!
//! - `recheck/edited`: the edit changes the transaction (its name); the whole analysis runs
//!   again.
//! - `recheck/unchanged`: an overlay with the same statements (a comment added): only that
//!   file is parsed again.
//! - `recheck/focused`: the edit of `recheck/edited`, checked for the findings at fault in
//!   the edited file only (what the server shows first in a slow folder).
//!
//! Run with `cargo bench --bench lsp`; `ISOLINT_BENCH_PROGRAMS=10000 cargo bench --bench lsp`
//! for a workspace of that many transactions (ten samples of each case then). See
//! BENCHMARKS.md.

#[allow(dead_code)] // Shared with the other benchmark and `examples/gen.rs`.
mod workload;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

use isolint::lsp::workspace::Analyzer;

/// As the `isolint` binary that serves the editor.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use workload::{Dialect, WorkloadSpec};

/// The workspace's transactions, unless `ISOLINT_BENCH_PROGRAMS` says otherwise.
const PROGRAMS: usize = 1_000;
/// The file edited: the transaction with the most findings in the generated project of 1,000
/// (`t484`, in 583 of its 26,332 findings), so the most pair findings to compute again.
const EDITED: &str = "txns/txn_484.sql";

fn recheck(criterion: &mut Criterion) {
    let programs = std::env::var("ISOLINT_BENCH_PROGRAMS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(PROGRAMS);
    let directory = tempfile::tempdir().expect("a temporary directory");
    let spec = WorkloadSpec {
        tables: (programs / 10).max(20),
        programs,
        seed: 1,
        dialect: Dialect::Postgres,
        history_bytes: 0,
    };
    for file in workload::generate(&spec) {
        let path = directory.path().join(&file.relative_path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create the directory");
        std::fs::write(path, file.text).expect("write the project");
    }
    let root = directory.path().to_path_buf();
    let edited: PathBuf = root.join(EDITED);
    let original = std::fs::read_to_string(&edited).expect("the edited file");
    let renamed = original.replacen("-- name: t", "-- name: edited_t", 1);
    assert_ne!(original, renamed, "the generated transaction is named");
    let mut analyzer = Analyzer::new(root);
    let first = analyzer.check(&BTreeMap::new(), &isolint::progress::Silent);
    assert_eq!(first.programs.len(), programs);

    let mut group = criterion.benchmark_group("recheck");
    group
        .sample_size(if programs > PROGRAMS { 10 } else { 20 })
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    let overlays = |text: &str| BTreeMap::from([(edited.clone(), text.to_string())]);
    let (one, other) = (overlays(&original), overlays(&renamed));
    let mut flip = false;
    group.bench_function("edited", |bench| {
        // The server hands the result on; dropping it is not part of checking.
        bench.iter_with_large_drop(|| {
            flip = !flip;
            analyzer.check(if flip { &other } else { &one }, &isolint::progress::Silent)
        });
    });
    let commented = overlays(&format!("{original}\n-- a comment\n"));
    group.bench_function("unchanged", |bench| {
        bench.iter_with_large_drop(|| analyzer.check(&commented, &isolint::progress::Silent));
    });
    // What the server shows first after an edit in a slow folder: the edited file's own
    // findings.
    let focus = std::collections::BTreeSet::from([edited.clone()]);
    group.bench_function("focused", |bench| {
        bench.iter_with_large_drop(|| {
            flip = !flip;
            analyzer.check_focused(
                if flip { &other } else { &one },
                &focus,
                &isolint::progress::Silent,
            )
        });
    });
    group.finish();
}

criterion_group!(benches, recheck);
criterion_main!(benches);
