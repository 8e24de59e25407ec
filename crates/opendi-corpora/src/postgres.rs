//! A throwaway PostgreSQL cluster for tests: `initdb` into a temporary folder, `pg_ctl start`
//! on a free loopback port, stopped and removed on drop.
//!
//! PostgreSQL refuses to run as root; when the tests run as root (CI does), the cluster runs
//! as the `postgres` user (Debian's packages create it) through `runuser`.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// The folder of `initdb` and `pg_ctl`: on the PATH, else Debian's `/usr/lib/postgresql/N/bin`
/// (the newest).
fn find_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if d.join("initdb").is_file() && d.join("pg_ctl").is_file() {
                return Some(d);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

impl Cluster {
    /// A fresh, running cluster; `None` (after saying why) when PostgreSQL is not installed,
    /// or a panic when `OPENDI_REQUIRE_CORPORA=1` (CI must run these tests).
    pub fn start() -> Option<Cluster> {
        let Some(bin) = find_bin() else {
            let required =
                std::env::var("OPENDI_REQUIRE_CORPORA").is_ok_and(|v| v == "1" || v == "true");
            assert!(
                !required,
                "PostgreSQL (initdb, pg_ctl) is not installed and OPENDI_REQUIRE_CORPORA is set; \
                 install Debian's postgresql package (.ci/run does)"
            );
            eprintln!(
                "skipped: PostgreSQL (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql"
            );
            return None;
        };
        let as_postgres = is_root();
        let dir = std::env::temp_dir().join(format!(
            "opendi-pg-{}-{}",
            std::process::id(),
            crate::free_port()
        ));
        std::fs::create_dir_all(&dir).expect("create the cluster folder");
        let c = Cluster {
            dir,
            bin,
            port: crate::free_port(),
            as_postgres,
        };
        if as_postgres {
            let ok = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&c.dir)
                .status()
                .expect("run chown");
            assert!(
                ok.success(),
                "chown of {} to postgres failed",
                c.dir.display()
            );
        }
        c.pg(&[
            "initdb",
            "-D",
            &c.data().display().to_string(),
            "-A",
            "trust",
            "-U",
            "opendi",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        c.start_server();
        Some(c)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs one of the cluster's programs (as `postgres` when we are root); panics with its
    /// output on failure.
    fn pg(&self, args: &[&str]) {
        let program = self.bin.join(args[0]);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = cmd
            .args(&args[1..])
            .current_dir(&self.dir)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
        assert!(
            out.status.success(),
            "{} failed: {}\n{}\nserver log:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
    }

    fn start_server(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.dir.display()
        );
        self.pg(&[
            "pg_ctl",
            "-D",
            &self.data().display().to_string(),
            "-l",
            &self.dir.join("log").display().to_string(),
            "-o",
            &opts,
            "-w",
            "-t",
            "60",
            "start",
        ]);
    }

    /// The URL of a fresh database named `name` in this cluster (created with `psql`, which
    /// comes with the server packages).
    pub fn database(&self, name: &str) -> String {
        let psql = Some(self.bin.join("psql"))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("psql"));
        let out = Command::new(&psql)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "opendi",
            ])
            .args(["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c"])
            .arg(format!("CREATE DATABASE \"{name}\""))
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", psql.display()));
        assert!(
            out.status.success(),
            "CREATE DATABASE {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.url_of(name)
    }

    /// The URL of the cluster's default database (`postgres`).
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    fn url_of(&self, db: &str) -> String {
        format!("postgres://opendi@127.0.0.1:{}/{db}", self.port)
    }

    /// Stops the server at once, like a crash or an operator's fast shutdown.
    pub fn stop(&self) {
        self.pg(&[
            "pg_ctl",
            "-D",
            &self.data().display().to_string(),
            "-m",
            "fast",
            "-w",
            "stop",
        ]);
    }

    /// Starts the server again on the same port.
    pub fn restart(&self) {
        self.start_server();
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let program = self.bin.join("pg_ctl");
        let data = self.data();
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let _ = cmd
            .args(["-D", &data.display().to_string(), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
