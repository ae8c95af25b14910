//! The `isolint` binary: everything is in the library; see `cli`.

fn main() -> std::process::ExitCode {
    isolint::cli::main()
}
