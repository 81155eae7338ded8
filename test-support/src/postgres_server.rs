//! A PostgreSQL server to run against: the one a URL names, or a throwaway cluster
//! started from the machine's PostgreSQL binaries. Used by the benchmark and by the
//! end-to-end suite.
//!
//! - A `postgres://` URL given: that server is used (its user must be allowed to create
//!   databases; callers create their own databases there).
//! - Otherwise a throwaway cluster is started from `initdb` and `pg_ctl` (on PATH or
//!   under /usr/lib/postgresql/*/bin): in a temp dir, on a free loopback port, owned by
//!   `nobody` when running as root (PostgreSQL refuses to run as root). A watcher process
//!   stops it and removes its directory once this process has exited.
//! - No binaries: as root, Debian's `postgresql` package is installed with apt-get;
//!   otherwise a message says what to install.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A server on which databases may be created.
#[derive(Debug, Clone)]
pub struct PostgresServer {
    /// `postgres://user@host:port/` plus any query string, without a database name.
    base: String,
    query: String,
}

/// Whether a throwaway cluster flushes its commits to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fsync=on` (PostgreSQL's default): what a benchmark of durable commits needs.
    Fsync,
    /// `fsync=off`: for tests, which never crash the server itself.
    NoFsync,
}

impl PostgresServer {
    /// The server a `postgres://` or `postgresql://` URL names (its database part is
    /// ignored: callers name their own databases).
    pub fn from_url(url: &str) -> Result<PostgresServer, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(split_url(url))
        } else {
            Err(format!("`{url}` is not a postgres:// URL"))
        }
    }

    /// Start a throwaway cluster (see the module documentation); `purpose` is said in
    /// the message when PostgreSQL's programs cannot be found.
    pub fn start_throwaway(
        durability: Durability,
        purpose: &str,
    ) -> Result<PostgresServer, String> {
        let bin = match find_binaries() {
            Some(bin) => bin,
            None if running_as_root() => {
                install_debian_package()?;
                find_binaries()
                    .ok_or("apt-get installed postgresql, but initdb is still not found")?
            }
            None => {
                return Err(format!(
                    "{purpose} needs PostgreSQL's server programs (initdb, pg_ctl) to start a \
                     throwaway server. None were found on PATH or under /usr/lib/postgresql/*/bin. \
                     Install them (Debian/Ubuntu: `sudo apt-get install postgresql`; Fedora: \
                     `sudo dnf install postgresql-server`; macOS: `brew install postgresql`), or \
                     name a server where the user may create databases \
                     (postgres://USER@HOST:PORT/postgres)."
                ));
            }
        };
        start_cluster(&bin, durability)
    }

    /// The URL of `database` on this server.
    pub fn url_of(&self, database: &str) -> String {
        format!("{}{database}{}", self.base, self.query)
    }

    /// The URL of `database` for another (password-less) role.
    pub fn url_of_as(&self, role: &str, database: &str) -> String {
        let (scheme, rest) = self.base.split_once("://").expect("a URL");
        let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        format!("{scheme}://{role}@{host}{database}{}", self.query)
    }

    /// Create a new, empty database named `prefix` plus a random suffix; its URL.
    pub async fn create_database(&self, prefix: &str) -> Result<String, sqlx::Error> {
        use sqlx::Connection;
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&self.url_of("postgres")).await?;
        sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str()).await?;
        admin.close().await?;
        Ok(self.url_of(&name))
    }
}

fn split_url(url: &str) -> PostgresServer {
    let (without_query, query) = match url.split_once('?') {
        Some((head, query)) => (head, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = without_query.find("://").map_or(0, |i| i + 3);
    let base = match without_query[authority_start..].find('/') {
        Some(slash) => without_query[..authority_start + slash + 1].to_owned(),
        None => format!("{without_query}/"),
    };
    PostgresServer { base, query }
}

fn find_binaries() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn running_as_root() -> bool {
    output_of(Command::new("id").arg("-u")).is_ok_and(|uid| uid == "0")
}

fn output_of(command: &mut Command) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|e| format!("running {command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn install_debian_package() -> Result<(), String> {
    eprintln!("PostgreSQL is not installed: installing Debian's postgresql package");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
    };
    if install().is_ok_and(|s| s.success()) {
        return Ok(());
    }
    output_of(Command::new("apt-get").arg("update"))?;
    match install() {
        Ok(status) if status.success() => Ok(()),
        other => Err(format!(
            "could not install PostgreSQL with apt-get ({other:?}); install the postgresql package \
             or name a PostgreSQL server by URL"
        )),
    }
}

/// Run a PostgreSQL program, as `nobody` when this process is root.
fn as_server_user(program: &Path, root: bool) -> Command {
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "nobody", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn start_cluster(bin: &Path, durability: Durability) -> Result<PostgresServer, String> {
    let root = running_as_root();
    let dir = tempfile::Builder::new()
        .prefix("whistle-pg-")
        .tempdir()
        .map_err(|e| format!("creating a temp dir for PostgreSQL: {e}"))?
        .keep();
    if root {
        let uid: u32 = output_of(Command::new("id").args(["-u", "nobody"]))?
            .parse()
            .map_err(|e| format!("uid of nobody: {e}"))?;
        let gid: u32 = output_of(Command::new("id").args(["-g", "nobody"]))?
            .parse()
            .map_err(|e| format!("gid of nobody: {e}"))?;
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("handing {} to nobody: {e}", dir.display()))?;
    }
    let data = dir.join("data");
    output_of(
        as_server_user(&bin.join("initdb"), root)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "whistle",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]),
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|e| format!("finding a free port: {e}"))?
        .port();
    let flushing = match durability {
        Durability::Fsync => "-c fsync=on -c full_page_writes=on",
        Durability::NoFsync => "-c fsync=off -c full_page_writes=off",
    };
    let options = format!(
        "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
         {flushing} -c max_connections=300",
        dir.display()
    );
    output_of(
        as_server_user(&bin.join("pg_ctl"), root)
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]),
    )?;
    // Stop the cluster and remove it once this process has gone, however it ends.
    let watcher = format!(
        "while [ -d /proc/{pid} ]; do sleep 1; done; \"{pg_ctl}\" -D \"{data}\" -m immediate stop >/dev/null 2>&1; rm -rf \"{dir}\"",
        pid = std::process::id(),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    {
        use std::os::unix::process::CommandExt;
        as_server_user(Path::new("/bin/sh"), root)
            .args(["-c", &watcher])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting the cluster's watcher: {e}"))?;
    }
    Ok(PostgresServer {
        base: format!("postgres://whistle@127.0.0.1:{port}/"),
        query: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::split_url;

    #[test]
    fn urls_are_split_into_server_and_database() {
        let server = split_url("postgres://u:p@h:5433/postgres?sslmode=disable");
        assert_eq!(
            server.url_of("w1"),
            "postgres://u:p@h:5433/w1?sslmode=disable"
        );
        let server = split_url("postgresql://h");
        assert_eq!(server.url_of("w2"), "postgresql://h/w2");
        assert_eq!(server.url_of_as("r", "w3"), "postgresql://r@h/w3");
        let server = split_url("postgres://u:p@h:5433/postgres");
        assert_eq!(server.url_of_as("r", "w4"), "postgres://r@h:5433/w4");
    }
}
