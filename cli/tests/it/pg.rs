//! A real PostgreSQL server for the tests that share a keeper ledger between hosts: a fresh
//! cluster (`initdb`) in a temporary directory, listening on a free loopback port, with a
//! password login, stopped when dropped. It needs PostgreSQL's server programs (Debian's
//! `postgresql` package; `scripts/test.sh` installs it when missing). As root it runs them as the
//! `postgres` user, because PostgreSQL refuses to run as root.

use std::{path::PathBuf, process::Command};

/// The password of the test login: the tests check it never reaches a log.
pub(crate) const PASSWORD: &str = "pg-test-Secret-8d1f";

pub(crate) struct PgServer {
    _dir: tempfile::TempDir,
    data: PathBuf,
    sock: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    pub(crate) port: u16,
    /// `postgres://zkrisk:<password>@127.0.0.1:<port>/postgres`.
    pub(crate) url: String,
}

/// The directory of `initdb` and `pg_ctl`: on `PATH`, else the newest of Debian's
/// `/usr/lib/postgresql/<version>/bin`.
fn bindir() -> PathBuf {
    if let Ok(out) = Command::new("sh").args(["-c", "command -v initdb"]).output()
        && out.status.success()
    {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if let Some(d) = p.parent() {
            return d.to_path_buf();
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b).unwrap_or_else(|| {
        panic!(
            "PostgreSQL's server programs (initdb, pg_ctl) are not installed: \
             apt-get install postgresql, or run scripts/test.sh, which installs it"
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PgServer {
    pub(crate) fn start() -> Self {
        let bin = bindir();
        let as_postgres = is_root();
        let dir = tempfile::tempdir().unwrap();
        let (data, sock) = (dir.path().join("data"), dir.path().join("sock"));
        std::fs::create_dir(&sock).unwrap();
        let pwfile = dir.path().join("password");
        std::fs::write(&pwfile, format!("{PASSWORD}\n")).unwrap();
        if as_postgres {
            for p in [dir.path(), &pwfile] {
                let mode = if p.is_dir() { "0755" } else { "0644" };
                assert!(Command::new("chmod").arg(mode).arg(p).status().unwrap().success());
            }
            let chown = Command::new("chown").arg("postgres:").arg(&sock).status().unwrap();
            assert!(chown.success(), "chown postgres: the `postgres` user is missing");
            std::fs::create_dir(&data).unwrap();
            assert!(Command::new("chown").arg("postgres:").arg(&data).status().unwrap().success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = Self {
            url: format!("postgres://zkrisk:{PASSWORD}@127.0.0.1:{port}/postgres"),
            _dir: dir,
            data,
            sock,
            bin,
            as_postgres,
            port,
        };
        server.run(
            "initdb",
            &[
                "-D".as_ref(),
                server.data.as_os_str(),
                "-U".as_ref(),
                "zkrisk".as_ref(),
                "--pwfile".as_ref(),
                pwfile.as_os_str(),
                "--auth-local=trust".as_ref(),
                "--auth-host=scram-sha-256".as_ref(),
                "--no-locale".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-sync".as_ref(),
            ],
        );
        server.start_again();
        server
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) {
        let exe = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).current_dir("/").output().unwrap();
        assert!(
            out.status.success(),
            "{program} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn log(&self) -> PathBuf {
        self.sock.join("server.log")
    }

    /// Starts the server (again, after [`Self::stop`]) and waits until it accepts connections.
    pub(crate) fn start_again(&self) {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.sock.display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.data.as_os_str(),
                "-l".as_ref(),
                self.log().as_os_str(),
                "-o".as_ref(),
                opts.as_ref(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        );
    }

    /// Stops the server at once (like a crash: no checkpoint).
    pub(crate) fn stop(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
    }

    /// The server's log.
    pub(crate) fn server_log(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.data.join("postmaster.pid").exists() {
            self.stop();
        }
    }
}
