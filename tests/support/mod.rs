//! Shared by the integration tests; each test uses what it needs.
#![allow(dead_code)]

pub mod agreement;
pub mod blocking;
pub mod case;
pub mod mariadb;
pub mod postgres;

/// The isolint binary, run from the repository's root.
pub fn isolint() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("isolint").expect("binary");
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}
