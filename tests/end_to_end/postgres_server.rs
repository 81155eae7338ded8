//! The PostgreSQL server the suite runs against, provisioned once per test run.
//!
//! - `DATABASE_URL=postgres://…` given: that server is used (its user must be allowed to
//!   create databases; each test creates its own `whistle_test_*` database there).
//! - Otherwise a throwaway cluster is started from the machine's PostgreSQL binaries
//!   (`initdb`, `pg_ctl`): in a temp dir, on a free loopback port, owned by `nobody`
//!   when the suite runs as root (PostgreSQL refuses to run as root). A watcher process
//!   stops it and removes its directory once this test process has exited.
//! - No binaries: as root, Debian's `postgresql` package is installed with apt-get;
//!   otherwise the suite stops with a message saying what to install.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// A server on which tests may create databases.
pub struct PostgresServer {
    /// `postgres://user@host:port/` plus any query string, without a database name.
    base: String,
    query: String,
}

impl PostgresServer {
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
}

static SERVER: OnceLock<Result<PostgresServer, String>> = OnceLock::new();

/// The suite's server, provisioned on first use.
pub fn server() -> &'static PostgresServer {
    match SERVER.get_or_init(provision) {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

fn provision() -> Result<PostgresServer, String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(split_url(&url));
        }
        return Err(format!(
            "DATABASE_URL is set to `{url}`, which is not a postgres:// URL. Unset it to let the \
             suite start its own PostgreSQL, or point it at a PostgreSQL server."
        ));
    }
    let bin = match find_binaries() {
        Some(bin) => bin,
        None if running_as_root() => {
            install_debian_package()?;
            find_binaries().ok_or("apt-get installed postgresql, but initdb is still not found")?
        }
        None => {
            return Err(
                "The end-to-end suite runs every test on PostgreSQL too, and needs PostgreSQL's \
                 server programs (initdb, pg_ctl) to start a throwaway server. None were found \
                 on PATH or under /usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: \
                 `sudo apt-get install postgresql`; Fedora: `sudo dnf install postgresql-server`; \
                 macOS: `brew install postgresql`), or set DATABASE_URL=postgres://USER@HOST:PORT/postgres \
                 to a server where USER may create databases."
                    .to_owned(),
            );
        }
    };
    start_cluster(&bin)
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
    eprintln!("PostgreSQL is not installed: installing Debian's postgresql package for the suite");
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
             or set DATABASE_URL to a PostgreSQL server"
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

fn start_cluster(bin: &Path) -> Result<PostgresServer, String> {
    let root = running_as_root();
    let dir = tempfile::Builder::new()
        .prefix("whistle-test-pg-")
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
    // A throwaway cluster: fsync off (the server itself is never crashed by the suite;
    // the crash tests kill Whistle's processes, not PostgreSQL).
    let options = format!(
        "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
         -c fsync=off -c full_page_writes=off -c max_connections=300",
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
    // Stop the cluster and remove it once this test process has gone, however it ends.
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
