//! A private PostgreSQL for `confirm` when no `--database-url` is given: `initdb` into a new
//! temporary directory, and the server started there on a Unix socket only (`listen_addresses
//! = ''`: no TCP port is opened), as the current user. PostgreSQL refuses to run as root, so
//! as root it runs as an unprivileged user (`postgres`, else `nobody`). It is stopped and its
//! directory deleted when the value is dropped, panics included.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running private server.
pub struct Cluster {
    directory: tempfile::TempDir,
    pg_ctl: PathBuf,
    user: Option<User>,
    /// The major version, e.g. `15`.
    pub version: String,
}

/// The unprivileged user a private server runs as when isolint runs as root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct User {
    pub(super) name: String,
    pub(super) uid: u32,
    pub(super) gid: u32,
}

impl Cluster {
    /// Starts one, telling `progress` where.
    pub fn start(progress: &dyn Fn(&str)) -> Result<Cluster, String> {
        let bin = binaries(&search_path()).ok_or(
            "no --database-url was given, and there are no PostgreSQL server binaries (initdb, \
             pg_ctl) on PATH or in /usr/lib/postgresql/*/bin to start a private server with; \
             install them or pass --database-url postgres://USER@HOST/DB",
        )?;
        let user = server_user("PostgreSQL", "postgres", "postgres://USER@HOST/DB")?;
        let pg_ctl = bin.join("pg_ctl");
        let version = major_version(&pg_ctl).unwrap_or_else(|| "server".to_string());
        let directory = private_directory("isolint-pg-", user.as_ref())?;
        progress(&format!(
            "starting a private PostgreSQL {version} in {}{}",
            directory.path().display(),
            user.as_ref()
                .map(|user| format!(" as user {}", user.name))
                .unwrap_or_default()
        ));
        let cluster = Cluster {
            directory,
            pg_ctl,
            user,
            version,
        };
        let data = cluster.directory.path().join("data");
        cluster.run(
            Command::new(bin.join("initdb"))
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
                .arg("--no-locale")
                .arg("-D")
                .arg(&data),
            "initdb",
        )?;
        let options = format!(
            "-c listen_addresses='' -k {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=40",
            cluster.directory.path().display()
        );
        cluster.run(
            Command::new(&cluster.pg_ctl)
                .args(["-w", "-t", "60", "-D"])
                .arg(&data)
                .args(["-o", &options, "-l"])
                .arg(cluster.directory.path().join("log"))
                .arg("start"),
            "pg_ctl start",
        )?;
        Ok(cluster)
    }

    /// A connection string for its socket.
    pub fn url(&self) -> String {
        format!(
            "host={} user=postgres dbname=postgres",
            self.directory.path().display()
        )
    }

    /// Runs a server binary as the server's user; its output when it fails.
    fn run(&self, command: &mut Command, what: &str) -> Result<(), String> {
        use std::os::unix::process::CommandExt;
        command.current_dir(self.directory.path());
        if let Some(user) = &self.user {
            command.uid(user.uid).gid(user.gid);
        }
        let output = command
            .output()
            .map_err(|error| format!("cannot run {what}: {error}"))?;
        if output.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.directory.path().join("log")).unwrap_or_default();
        Err(format!(
            "{what} failed: {}{}{}",
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim(),
            log.lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .map(|line| format!("\n  {line}"))
                .collect::<String>()
        ))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.directory.path().join("data");
        let _ = self.run(
            Command::new(&self.pg_ctl)
                .args(["-m", "immediate", "-D"])
                .arg(data)
                .arg("stop"),
            "pg_ctl stop",
        );
    }
}

/// Where to look for the server binaries: PATH, then the versioned directories of Debian and
/// Red Hat packages, newest first.
fn search_path() -> Vec<PathBuf> {
    let mut directories: Vec<PathBuf> =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect();
    for pattern_root in ["/usr/lib/postgresql", "/usr"] {
        let Ok(entries) = std::fs::read_dir(pattern_root) else {
            continue;
        };
        let mut versioned: Vec<(u32, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().to_string();
                let version = if pattern_root == "/usr" {
                    name.strip_prefix("pgsql-")?.to_string()
                } else {
                    name
                };
                Some((version.parse().ok()?, entry.path().join("bin")))
            })
            .collect();
        versioned.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
        directories.extend(versioned.into_iter().map(|(_, path)| path));
    }
    directories
}

/// The first directory with `initdb` and `pg_ctl`.
fn binaries(directories: &[PathBuf]) -> Option<PathBuf> {
    directories
        .iter()
        .find(|directory| {
            ["initdb", "pg_ctl"]
                .iter()
                .all(|binary| directory.join(binary).is_file())
        })
        .cloned()
}

/// `15` from `pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`.
fn major_version(pg_ctl: &Path) -> Option<String> {
    let output = Command::new(pg_ctl).arg("--version").output().ok()?;
    parse_major_version(&String::from_utf8_lossy(&output.stdout))
}

fn parse_major_version(text: &str) -> Option<String> {
    let version = text.split(')').nth(1)?.split_whitespace().next()?;
    Some(version.split('.').next()?.to_string())
}

/// A new temporary directory for a private server's data and socket, owned by `user` when
/// the server runs as one.
pub(super) fn private_directory(
    prefix: &str,
    user: Option<&User>,
) -> Result<tempfile::TempDir, String> {
    let directory = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(socket_parent())
        .map_err(|error| format!("cannot create a directory for a private server: {error}"))?;
    if let Some(user) = user {
        std::os::unix::fs::chown(directory.path(), Some(user.uid), Some(user.gid)).map_err(
            |error| {
                format!(
                    "cannot give {} to {}: {error}",
                    directory.path().display(),
                    user.name
                )
            },
        )?;
    }
    Ok(directory)
}

/// A short directory for the socket (its path may not exceed about 100 bytes).
fn socket_parent() -> PathBuf {
    let temporary = std::env::temp_dir();
    if temporary.as_os_str().len() < 60 {
        temporary
    } else {
        PathBuf::from("/tmp")
    }
}

fn is_root() -> bool {
    // The owner of this process's own /proc entry is its effective user.
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or_else(
        |_| {
            Command::new("id")
                .arg("-u")
                .output()
                .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        },
        |metadata| metadata.uid() == 0,
    )
}

/// Who a private `server` runs as: this process's user, or when that is root (which database
/// servers refuse), `own_user` (the one the server's package made), else `nobody`.
pub(super) fn server_user(server: &str, own_user: &str, url: &str) -> Result<Option<User>, String> {
    if !is_root() {
        return Ok(None);
    }
    unprivileged_user(&[own_user, "nobody"])
        .map(Some)
        .ok_or_else(|| {
            format!(
                "no --database-url was given, and {server} refuses to run as root while no \
             unprivileged user ({own_user}, nobody) exists to run a private server as; pass \
             --database-url {url}"
            )
        })
}

/// The first of `candidates` that exists and is not root.
fn unprivileged_user(candidates: &[&str]) -> Option<User> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    candidates
        .iter()
        .find_map(|wanted| find_user(&passwd, wanted))
}

fn find_user(passwd: &str, wanted: &str) -> Option<User> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.first() != Some(&wanted) || fields.len() < 4 {
            return None;
        }
        let uid: u32 = fields[2].parse().ok()?;
        (uid != 0).then_some(User {
            name: wanted.to_string(),
            uid,
            gid: fields[3].parse().ok()?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_users_are_read() {
        assert_eq!(
            parse_major_version("pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n").as_deref(),
            Some("15")
        );
        assert_eq!(parse_major_version("garbage"), None);
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\npostgres:x:104:110::/var/lib/postgresql:/bin/bash\n";
        assert_eq!(
            find_user(passwd, "postgres"),
            Some(User {
                name: "postgres".into(),
                uid: 104,
                gid: 110
            })
        );
        assert_eq!(find_user(passwd, "root"), None);
        assert_eq!(binaries(&[PathBuf::from("/nonexistent")]), None);
    }
}
