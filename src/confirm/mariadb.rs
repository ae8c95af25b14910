//! A private MariaDB for `confirm --engine mysql|mariadb` when no `--database-url` is given:
//! `mariadb-install-db` into a new temporary directory, and `mariadbd` started there on a Unix
//! socket only (`--skip-networking`: no TCP port is opened), as the current user. MariaDB
//! refuses to run as root, so as root it runs as an unprivileged user (`mysql`, else
//! `nobody`), which `mariadbd --user` switches to. Its `root` account has no password and is
//! reachable only through the socket in that directory. It is stopped and its directory
//! deleted when the value is dropped, panics included.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cluster::{User, private_directory, server_user};

/// A running private server.
pub struct Mariadb {
    directory: tempfile::TempDir,
    server: Child,
    /// The version `mariadbd --version` prints, e.g. `10.11.19-MariaDB`.
    pub version: String,
}

/// How long the server may take to accept connections.
const START_LIMIT: Duration = Duration::from_secs(60);

impl Mariadb {
    /// Whether the server binaries are there to start one.
    pub fn installed() -> bool {
        binaries(&search_path()).is_some()
    }

    /// Starts one, telling `progress` where.
    pub fn start(progress: &dyn Fn(&str)) -> Result<Mariadb, String> {
        let (install, daemon) = binaries(&search_path()).ok_or(
            "no --database-url was given, and there are no MariaDB server binaries \
             (mariadb-install-db, mariadbd) on PATH or in /usr/sbin to start a private server \
             with; install them (Debian: apt-get install mariadb-server) or pass \
             --database-url mysql://USER@HOST/DB",
        )?;
        let user = server_user("MariaDB", "mysql", "mysql://USER@HOST/DB")?;
        let version = server_version(&daemon).unwrap_or_else(|| "server".to_string());
        let directory = private_directory("isolint-my-", user.as_ref())?;
        progress(&format!(
            "starting a private MariaDB {version} in {}{}",
            directory.path().display(),
            user.as_ref()
                .map(|user| format!(" as user {}", user.name))
                .unwrap_or_default()
        ));
        let data = directory.path().join("data");
        let as_user = |command: &mut Command| {
            if let Some(User { name, .. }) = &user {
                command.arg(format!("--user={name}"));
            }
        };
        let mut initialise = Command::new(&install);
        initialise
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ]);
        as_user(&mut initialise);
        let output = initialise
            .current_dir(directory.path())
            .output()
            .map_err(|error| format!("cannot run {}: {error}", install.display()))?;
        if !output.status.success() {
            return Err(format!(
                "{} failed: {}{}",
                install.display(),
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let mut start = Command::new(&daemon);
        start
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket(directory.path()).display()))
            .arg(format!(
                "--pid-file={}",
                directory.path().join("mariadbd.pid").display()
            ))
            .arg(format!("--log-error={}", log(directory.path()).display()))
            .args([
                "--skip-networking",
                "--skip-log-bin",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=32M",
                "--innodb-flush-log-at-trx-commit=0",
                "--max-connections=60",
            ]);
        as_user(&mut start);
        let server = start
            .current_dir(directory.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot run {}: {error}", daemon.display()))?;
        let mut started = Mariadb {
            directory,
            server,
            version,
        };
        started.wait_until_ready()?;
        Ok(started)
    }

    /// A connection URL for its socket.
    pub fn url(&self) -> String {
        format!(
            "mysql://root@localhost/?socket={}",
            socket(self.directory.path()).display()
        )
    }

    /// The server process, for a caller that must stop it without dropping this value.
    pub fn pid(&self) -> u32 {
        self.server.id()
    }

    /// Where its data, socket and log are.
    pub fn directory(&self) -> &Path {
        self.directory.path()
    }

    /// Waits until the server accepts a connection on its socket; the end of its log when
    /// it stops or takes too long.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let database = super::database::Database::new(&self.url())?;
        let began = Instant::now();
        loop {
            if database.connect().is_ok() {
                return Ok(());
            }
            let stopped = self.server.try_wait().ok().flatten();
            if stopped.is_some() || began.elapsed() > START_LIMIT {
                let log = std::fs::read_to_string(log(self.directory.path())).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(8).collect();
                return Err(format!(
                    "the private MariaDB {}:{}",
                    match stopped {
                        Some(status) => format!("stopped at start ({status})"),
                        None => format!("did not start in {} s", START_LIMIT.as_secs()),
                    },
                    tail.into_iter()
                        .rev()
                        .map(|line| format!("\n  {line}"))
                        .collect::<String>()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        // Its data is thrown away with the directory: nothing to shut down cleanly.
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn socket(directory: &Path) -> PathBuf {
    directory.join("mariadbd.sock")
}

fn log(directory: &Path) -> PathBuf {
    directory.join("mariadbd.err")
}

/// Where to look for the server binaries: PATH, then the directories packages put them in.
fn search_path() -> Vec<PathBuf> {
    let mut directories: Vec<PathBuf> =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect();
    directories.extend(["/usr/sbin", "/usr/bin", "/usr/local/mysql/bin"].map(PathBuf::from));
    directories
}

/// The installer and the server: `mariadb-install-db` and `mariadbd`, or their older names.
fn binaries(directories: &[PathBuf]) -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| {
        directories.iter().find_map(|directory| {
            names
                .iter()
                .map(|name| directory.join(name))
                .find(|path| path.is_file())
        })
    };
    Some((
        find(&["mariadb-install-db", "mysql_install_db"])?,
        find(&["mariadbd", "mysqld"])?,
    ))
}

fn server_version(daemon: &Path) -> Option<String> {
    let output = Command::new(daemon).arg("--version").output().ok()?;
    parse_version(&String::from_utf8_lossy(&output.stdout))
}

/// `10.11.19-MariaDB` from `mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu`.
fn parse_version(text: &str) -> Option<String> {
    let version = text
        .split_whitespace()
        .skip_while(|word| *word != "Ver")
        .nth(1)?;
    Some(match version.find("-MariaDB") {
        Some(end) => version[..end + "-MariaDB".len()].to_string(),
        None => version.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_and_missing_binaries_found_missing() {
        assert_eq!(
            parse_version(
                "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64\n"
            )
            .as_deref(),
            Some("10.11.19-MariaDB")
        );
        assert_eq!(
            parse_version("mysqld  Ver 8.0.36 for Linux on x86_64").as_deref(),
            Some("8.0.36")
        );
        assert_eq!(parse_version("garbage"), None);
        assert_eq!(binaries(&[PathBuf::from("/nonexistent")]), None);
    }
}
