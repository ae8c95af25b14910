//! Criterion benchmarks of the pipeline on generated projects (`benches/workload/mod.rs`, the
//! generator `examples/gen.rs` writes to disk).
//!
//! One group per stage, each on every file in parallel as `check_sources` runs it:
//!
//! - `split`: the splitter alone (statements and comments, no parsing).
//! - `floor`: splitting and parsing with sqlparser; no checker can be faster than this.
//! - `extract`: `check_sources` with no rule enabled: parsing, the catalog, and each
//!   statement's accesses and each file's programs, but no pair analysed.
//! - `analysis`: `isolint::analysis::analyse` on programs already built: candidate pairs,
//!   the pair rules, the dependency graph and its rules.
//! - `check`: `isolint::check_sources` with the default rules, the whole pipeline in memory
//!   (no discovery, no report).
//!
//! The stages before the analysis run from 100 to 20,000 programs; `analysis` and `check` at
//! 100 and 1,000 only: their cost grows with the pairs of programs that conflict, one run at
//! 5,000 takes about half a minute (see BENCHMARKS.md), and criterion needs ten.
//! `ISOLINT_BENCH_LARGE=1` adds 5,000.
//!
//! Run with `cargo bench --bench pipeline`; see BENCHMARKS.md.

// Each includer of the generator uses a different part of it (this bench never parses a
// dialect name); the unused parts are not dead, only unused here.
#[allow(dead_code)]
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use rayon::prelude::*;

use isolint::analysis::{Context, analyse};
use isolint::discover::role_of;
use isolint::semantics::{Engine, Semantics};
use isolint::source::SourceFile;
use isolint::{CheckOptions, check_sources};
use workload::{Dialect, WorkloadSpec};

const SEED: u64 = 1;
const STAGE_SIZES: &[usize] = &[100, 1_000, 5_000, 20_000];
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

/// A group of ten samples measured for `seconds` each size.
fn group<'a>(
    criterion: &'a mut Criterion,
    name: &str,
    seconds: u64,
) -> BenchmarkGroup<'a, WallTime> {
    let mut group = criterion.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(seconds));
    group
}

/// Benchmarks `run` on the generated project of each of `sizes` programs.
fn stage<T>(
    criterion: &mut Criterion,
    name: &str,
    sizes: &[usize],
    run: impl Fn(&[SourceFile]) -> T,
) {
    let mut group = group(criterion, name, 5);
    for &programs in sizes {
        let files = project(programs);
        group.throughput(Throughput::Bytes(sql_bytes(&files)));
        group.bench_with_input(
            BenchmarkId::from_parameter(programs),
            &files,
            |bench, files| bench.iter(|| run(files)),
        );
    }
    group.finish();
}

fn split(criterion: &mut Criterion) {
    let flavor = isolint::parse::flavor(Engine::Postgres);
    stage(criterion, "split", STAGE_SIZES, |files| {
        files
            .par_iter()
            .map(|file| {
                isolint::parse::split::split(&file.text, flavor, false)
                    .chunks
                    .len()
            })
            .sum::<usize>()
    });
}

fn floor(criterion: &mut Criterion) {
    stage(criterion, "floor", STAGE_SIZES, |files| {
        files
            .par_iter()
            .map(|file| isolint::parse::parse_file(&file.text, Engine::Postgres))
            .collect::<Vec<_>>()
    });
}

fn extract(criterion: &mut Criterion) {
    let mut options = CheckOptions::new(Engine::Postgres);
    options.rules.clear();
    stage(criterion, "extract", STAGE_SIZES, |files| {
        check_sources(files.to_vec(), &options).programs.len()
    });
}

/// The sizes the analysis is benchmarked at.
fn analysis_sizes() -> Vec<usize> {
    let large = std::env::var_os("ISOLINT_BENCH_LARGE").is_some_and(|value| value == "1");
    CHECK_SIZES
        .iter()
        .chain(LARGE_CHECK_SIZES.iter().filter(|_| large))
        .copied()
        .collect()
}

fn analysis(criterion: &mut Criterion) {
    let mut group = group(criterion, "analysis", 10);
    let options = CheckOptions::new(Engine::Postgres);
    let mut no_rules = options.clone();
    no_rules.rules.clear();
    for programs in analysis_sizes() {
        let built = check_sources(project(programs), &no_rules);
        let context = Context {
            programs: &built.programs,
            catalog: &built.catalog,
            semantics: Semantics::embedded(),
            engine: Engine::Postgres,
        };
        group.bench_with_input(
            BenchmarkId::from_parameter(programs),
            &context,
            |bench, context| {
                bench.iter(|| analyse(context, &options.rules).findings.len());
            },
        );
    }
    group.finish();
}

fn check(criterion: &mut Criterion) {
    let mut group = group(criterion, "check", 10);
    let options = CheckOptions::new(Engine::Postgres);
    for programs in analysis_sizes() {
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

criterion_group!(benches, split, floor, extract, analysis, check);
criterion_main!(benches);
