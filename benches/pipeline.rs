//! Criterion benchmarks of the pipeline on generated projects (`benches/workload/mod.rs`, the
//! generator `examples/gen.rs` writes to disk).
//!
//! - `floor`: splitting and parsing every file in parallel, as `check_sources` does first; no
//!   checker can be faster than this.
//! - `check`: `isolint::check_sources` with the default rules, the whole pipeline in memory
//!   (no discovery, no report).
//!
//! `check` runs at 100 and 1,000 programs only: at 5,000 one run takes minutes (see
//! BENCHMARKS.md), and criterion needs at least ten. `ISOLINT_BENCH_LARGE=1` adds it.
//!
//! Run with `cargo bench --bench pipeline`; see BENCHMARKS.md.

// Each includer of the generator uses a different part of it (this bench never parses a
// dialect name); the unused parts are not dead, only unused here.
#[allow(dead_code)]
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;

use isolint::discover::role_of;
use isolint::semantics::Engine;
use isolint::source::SourceFile;
use isolint::{CheckOptions, check_sources};
use workload::{Dialect, WorkloadSpec};

const SEED: u64 = 1;
const FLOOR_SIZES: &[usize] = &[100, 1_000, 5_000];
const CHECK_SIZES: &[usize] = &[100, 1_000];
const LARGE_CHECK_SIZES: &[usize] = &[5_000];

/// A generated project as `SourceFile`s, roles assigned by the same rule discovery uses.
fn project(programs: usize) -> Vec<SourceFile> {
    let spec = WorkloadSpec {
        tables: (programs / 10).max(20),
        programs,
        seed: SEED,
        dialect: Dialect::Postgres,
        history_bytes: 0,
    };
    workload::generate(&spec)
        .into_iter()
        .map(|file| {
            let path = PathBuf::from(file.relative_path);
            let role = role_of(&path);
            SourceFile::new(path, role, file.text)
        })
        .collect()
}

fn sql_bytes(files: &[SourceFile]) -> u64 {
    files.iter().map(|file| file.text.len() as u64).sum()
}

fn floor(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("floor");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for &programs in FLOOR_SIZES {
        let files = project(programs);
        group.throughput(Throughput::Bytes(sql_bytes(&files)));
        group.bench_with_input(
            BenchmarkId::from_parameter(programs),
            &files,
            |bench, files| {
                bench.iter(|| {
                    files
                        .par_iter()
                        .map(|file| isolint::parse::parse_file(&file.text, Engine::Postgres))
                        .collect::<Vec<_>>()
                });
            },
        );
    }
    group.finish();
}

fn check(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("check");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    let large = std::env::var_os("ISOLINT_BENCH_LARGE").is_some_and(|value| value == "1");
    let sizes = CHECK_SIZES
        .iter()
        .chain(LARGE_CHECK_SIZES.iter().filter(|_| large));
    let options = CheckOptions::new(Engine::Postgres);
    for &programs in sizes {
        let files = project(programs);
        group.throughput(Throughput::Bytes(sql_bytes(&files)));
        group.bench_with_input(
            BenchmarkId::from_parameter(programs),
            &files,
            |bench, files| {
                // `check_sources` takes the files by value; cloning them is not part of checking.
                bench.iter_batched(
                    || files.clone(),
                    |files| check_sources(files, &options),
                    BatchSize::LargeInput,
                );
            },
        );
    }
    group.finish();
}

criterion_group!(benches, floor, check);
criterion_main!(benches);
