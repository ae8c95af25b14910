//! One private MariaDB for every test of a test binary, started by the first caller with
//! isolint's own `confirm::mariadb::Mariadb` (the server `isolint confirm` starts without
//! `--database-url`). When the binaries are missing the test is skipped loudly, unless
//! `ISOLINT_REQUIRE_DB` is set (as in CI), where it fails.
//!
//! Rust never drops a static, so a child shell stops the server (and removes its directory)
//! once the test process has exited, as `postgres::shared` does: it waits for the end of its
//! stdin, a pipe whose only writer is this process.

use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

use isolint::confirm::database::Database;
use isolint::confirm::mariadb::Mariadb;

pub struct Shared {
    pub server: Mariadb,
    // Invariant: neither dropped nor written to, so its stdin stays open until the process
    // exits.
    _stop_at_exit: Child,
    /// Held by each test while it uses the server, so that one test's throwaway databases
    /// are not in another's way (`footprint` counts them).
    turn: Mutex<()>,
}

impl Shared {
    /// The server to oneself until the guard is dropped.
    pub fn turn(&self) -> MutexGuard<'_, ()> {
        self.turn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The shared server to oneself while the guard lives, and a `Database` for it; `None` (after
/// saying so) when MariaDB is not installed.
pub fn turn(test: &str) -> Option<(MutexGuard<'static, ()>, Database, &'static Shared)> {
    let shared = shared(test)?;
    let database = Database::new(&shared.server.url()).expect("url");
    Some((shared.turn(), database, shared))
}

/// The shared server, or `None` (after saying so) when MariaDB is not installed.
pub fn shared(test: &str) -> Option<&'static Shared> {
    if !Mariadb::installed() {
        let message = format!(
            "{test}: SKIPPED: the MariaDB server binaries (mariadb-install-db, mariadbd) are \
             not on PATH or in /usr/sbin"
        );
        assert!(
            std::env::var_os("ISOLINT_REQUIRE_DB").is_none(),
            "{message}, and ISOLINT_REQUIRE_DB asks for them"
        );
        eprintln!("\n!!! {message} !!!\n");
        return None;
    }
    static SHARED: OnceLock<Shared> = OnceLock::new();
    Some(SHARED.get_or_init(|| {
        let server = Mariadb::start(&|message| eprintln!("{message}"))
            .unwrap_or_else(|error| panic!("{test}: {error}"));
        let script = format!(
            "trap '' INT TERM HUP; cat >/dev/null; kill -9 {} >/dev/null 2>&1; rm -rf '{}'",
            server.pid(),
            server.directory().display()
        );
        let _stop_at_exit = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the shell that stops the shared server");
        Shared {
            server,
            _stop_at_exit,
            turn: Mutex::new(()),
        }
    }))
}
