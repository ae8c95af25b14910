//! A private PostgreSQL for one test: `initdb` into a temporary directory, `pg_ctl start` on a
//! Unix socket there (`listen_addresses = ''`: no port is opened), stopped when dropped.
//! PostgreSQL refuses to run as root; as root, the server runs as the `postgres` user.
//!
//! Binaries come from `PG_BIN` when set, else from PATH. When they are missing the test is
//! skipped loudly, unless `ISOLINT_REQUIRE_DB` is set (as in CI), where it fails.
//!
//! [`shared`] gives every test of one test binary the same server, for files with many small
//! tests that each make a database of their own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

pub struct Server {
    directory: tempfile::TempDir,
    pg_ctl: PathBuf,
    as_postgres: bool,
}

/// The directory of the server binaries, or `None` (after saying so) when they are missing.
pub fn binaries_for(test: &str) -> Option<PathBuf> {
    let bin = binaries();
    if bin.is_none() {
        let message = format!(
            "{test}: SKIPPED: the PostgreSQL server binaries (initdb, pg_ctl, postgres) are \
             not on PATH and PG_BIN is not set"
        );
        assert!(
            std::env::var_os("ISOLINT_REQUIRE_DB").is_none(),
            "{message}, and ISOLINT_REQUIRE_DB asks for them"
        );
        eprintln!("\n!!! {message} !!!\n");
    }
    bin
}

impl Server {
    /// The running server, or `None` (after saying so) when the binaries are missing.
    pub fn start(test: &str) -> Option<Server> {
        Server::start_with(test, "")
    }

    /// [`Server::start`] with more server options (`-c name=value ...`).
    pub fn start_with(test: &str, extra_options: &str) -> Option<Server> {
        let bin = binaries_for(test)?;
        let as_postgres = is_root();
        let directory = tempfile::Builder::new()
            .prefix("isolint-pg")
            .tempdir_in("/tmp")
            .expect("temporary directory");
        if as_postgres {
            run(Command::new("chown").arg("postgres:").arg(directory.path()));
        }
        let data = directory.path().join("data");
        let server = Server {
            pg_ctl: bin.join("pg_ctl"),
            as_postgres,
            directory,
        };
        let initdb = bin.join("initdb");
        run(server
            .command(&initdb)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(&data));
        let options = format!(
            "-c listen_addresses='' -k {} -c fsync=off -c max_connections=40 {extra_options}",
            server.directory.path().display()
        );
        run(server
            .command(&server.pg_ctl)
            .args(["-w", "-D"])
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(server.directory.path().join("log"))
            .arg("start"));
        Some(server)
    }

    /// The server's own directory: its socket, its data and its `log`.
    pub fn directory(&self) -> &Path {
        self.directory.path()
    }

    /// A connection string for the server's socket.
    pub fn url(&self) -> String {
        format!(
            "host={} user=postgres dbname=postgres",
            self.directory.path().display()
        )
    }

    /// Runs `isolint confirm . --format json` against this server in a new project made of
    /// `files` (`(path, text)`, paths relative to the project).
    pub fn confirm_project(&self, files: &[(&str, &str)]) -> std::process::Output {
        let project = tempfile::tempdir().expect("project");
        for (path, text) in files {
            let path = project.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("directory");
            std::fs::write(path, text).expect("write");
        }
        assert_cmd::Command::cargo_bin("isolint")
            .expect("binary")
            .current_dir(project.path())
            .args(["confirm", ".", "--format", "json"])
            .args(["--database-url", &self.url()])
            .output()
            .expect("run")
    }

    fn command(&self, program: &Path) -> Command {
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

/// One server for every test of this test binary, started by the first caller. Rust never drops
/// a static, so a child shell stops the server (and removes its directory) once the test process
/// has exited: it waits for the end of its stdin, a pipe whose only writer is this process and
/// which the kernel closes however the process ends. The shell ignores the signals a Ctrl-C sends
/// to the whole process group, so an interrupted run still stops the server. It is never waited
/// for: it finishes after this process.
pub fn shared(test: &str) -> Option<&'static Server> {
    struct Shared {
        server: Server,
        // Invariant: neither dropped nor written to, so its stdin stays open until the process
        // exits; see above.
        _stop_at_exit: Child,
    }
    static SHARED: OnceLock<Option<Shared>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let server = Server::start(test)?;
            let _stop_at_exit = server.stop_at_exit();
            Some(Shared {
                server,
                _stop_at_exit,
            })
        })
        .as_ref()
        .map(|shared| &shared.server)
}

impl Server {
    fn stop_at_exit(&self) -> Child {
        let directory = self.directory.path().display().to_string();
        let stop = format!(
            "{}'{}' -m immediate -D '{directory}/data' stop",
            if self.as_postgres {
                "runuser -u postgres -- "
            } else {
                ""
            },
            self.pg_ctl.display()
        );
        let script = format!(
            "trap '' INT TERM HUP; cat >/dev/null; {stop} >/dev/null 2>&1; rm -rf '{directory}'"
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the shell that stops the shared server")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self
            .command(&self.pg_ctl)
            .args(["-m", "immediate", "-D"])
            .arg(self.directory.path().join("data"))
            .arg("stop")
            .output();
    }
}

fn binaries() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("PG_BIN") {
        Some(bin) => vec![PathBuf::from(bin)],
        None => std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect(),
    };
    candidates.into_iter().find(|directory| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|binary| directory.join(binary).is_file())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn run(command: &mut Command) {
    let output = command.output().expect("start a PostgreSQL binary");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
