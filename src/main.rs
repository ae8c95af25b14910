//! The `isolint` binary: everything is in the library; see `cli`.

/// The analysis makes and drops many small values on every core (each pair's edges, unifiers
/// and findings); mimalloc's per-thread free lists spend about a fifth less CPU on them than
/// the system allocator (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    isolint::cli::main()
}
