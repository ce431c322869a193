//! The collection script: POSIX `sh`, sent on stdin, one run per host.
//!
//! Every fact is printed as a frame: a header line
//! `RECTIFY:<nonce>:<index>:<status>:<length>` followed by exactly `length`
//! bytes. The nonce is random per run, so no file content can forge a
//! header, and lengths let content be anything (binary, no final newline,
//! lines that look like headers).

use crate::shell::{quote, QuoteError, BOUNDED, RUN_CMD};

use super::Probe;

/// The helper functions every script starts with. Values only ever reach
/// them as quoted positional arguments.
const PRELUDE: &str = r#"LC_ALL=C; export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
exec 2>/dev/null
frame() { printf 'RECTIFY:%s:%s:%s:%s\n' "$N" "$1" "$2" "$3"; }
emit() { n=$(printf '%s' "$3" | wc -c); frame "$1" "$2" $((n)); printf '%s' "$3"; }
p_read() {
  # Returns 0 only when the content was sent, its length in $n. $4: the
  # status for a file over $2 bytes, toolarge by default.
  if [ ! -e "$3" ]; then frame "$1" missing 0; return 1; fi
  if [ -d "$3" ]; then frame "$1" isdir 0; return 1; fi
  # A FIFO, socket or device could block the read below (and the whole
  # script) for good: only regular files are read.
  if [ ! -f "$3" ]; then frame "$1" notfile 0; return 1; fi
  if [ ! -r "$3" ]; then frame "$1" denied 0; return 1; fi
  if ! head -c 0 -- "$3" >/dev/null; then frame "$1" unreadable 0; return 1; fi
  n=$(head -c "$(($2 + 1))" -- "$3" | wc -c); n=$((n))
  if [ "$n" -gt "$2" ]; then frame "$1" "${4:-toolarge}" 0; return 1; fi
  frame "$1" ok "$n"; head -c "$n" -- "$3"
}
p_sshd() {
  # An sshd config and what its Include lines name, as sub-frames $1.K:
  # `path` (a file's name) then, with $5 = 1, its lstat, then its content
  # as p_read sends it; `glob` (an Include pattern, made absolute as sshd
  # does: relative to /etc/ssh) then one `match` per existing name it
  # expands to, in the shell's (C locale: byte) order, which is glob(3)'s;
  # `limit` when $3 files or $4 names would be exceeded, after which the
  # files already accepted are read but nothing more is expanded. Every
  # file is read once. The included files (all but the first) are read
  # while together they stay within $6 bytes; a file past that is sent as
  # status `overbudget`, not read. Which of these sshd reads, in which
  # order and how deep, the controller decides.
  s_i=$1; s_max=$2; s_files=$(($3 - 1)); s_names=$4; s_st=$5; s_left=$6; shift 6
  s_k=0; s_nl='
'
  s_seen=$s_nl$1$s_nl; s_pats=$s_nl; s_stop=0; s_main=1
  while [ $# -gt 0 ]; do
    s_f=$1; shift
    s_sub path "$s_f"
    if [ "$s_st" = 1 ]; then p_lstat "$s_i.$s_k" "$s_f"; s_k=$((s_k + 1)); fi
    if [ "$s_main" = 1 ] || [ "$s_left" -ge "$s_max" ]; then
      p_read "$s_i.$s_k" "$s_max" "$s_f"; s_ok=$?
    else
      p_read "$s_i.$s_k" "$s_left" "$s_f" overbudget; s_ok=$?
    fi
    if [ "$s_ok" = 0 ] && [ "$s_main" = 0 ]; then s_left=$((s_left - n)); fi
    s_main=0; s_k=$((s_k + 1))
    [ "$s_ok" = 0 ] && [ "$s_stop" = 0 ] || continue
    s_words=$(sed -n 's/^[[:space:]]*[Ii][Nn][Cc][Ll][Uu][Dd][Ee][[:space:]]*[=[:space:]][[:space:]]*//p' -- "$s_f" |
      tr -d "\"'\r" | sed 's/[[:space:]]#.*//; s/^#.*//')
    set -f
    for s_w in $s_words; do
      case $s_w in /*) s_p=$s_w ;; "~"*) continue ;; *) s_p=/etc/ssh/$s_w ;; esac
      [ "${#s_p}" -le 4096 ] || continue
      case $s_pats in *"$s_nl$s_p$s_nl"*) continue ;; esac
      s_pats=$s_pats$s_p$s_nl
      if [ "$s_names" -le 0 ]; then s_sub limit ''; s_stop=1; break; fi
      s_names=$((s_names - 1)); s_sub glob "$s_p"
      set +f
      for s_g in $s_p; do
        [ -e "$s_g" ] || [ -L "$s_g" ] || continue
        if [ "$s_names" -le 0 ]; then s_sub limit ''; s_stop=1; break 2; fi
        s_names=$((s_names - 1)); s_sub match "$s_g"
        case $s_seen in *"$s_nl$s_g$s_nl"*) continue ;; esac
        if [ "$s_files" -le 0 ]; then s_sub limit ''; s_stop=1; break 2; fi
        s_files=$((s_files - 1)); s_seen=$s_seen$s_g$s_nl
        set -- "$@" "$s_g"
      done
      set -f
    done
    set +f
  done
  frame "$s_i" ok 0
}
s_sub() { emit "$s_i.$s_k" "$1" "$2"; s_k=$((s_k + 1)); }
p_stat() {
  if [ ! -e "$2" ]; then frame "$1" missing 0; return; fi
  s=$(stat -L -c '%a %u %g %U %G %F' -- "$2") || { frame "$1" denied 0; return; }
  emit "$1" ok "$s"
}
p_lstat() {
  if [ ! -e "$2" ] && [ ! -L "$2" ]; then frame "$1" missing 0; return; fi
  s=$(stat -c '%a %u %g %U %G %F' -- "$2") || { frame "$1" denied 0; return; }
  emit "$1" ok "$s"
}
p_cmd() {
  # `bounded` (defined below, before any probe runs): without a usable
  # `timeout` the controller's exec timeout for the whole script, the base
  # timeout plus every command's own, is what ends a command that hangs.
  o=$( { run_cmd "$3" bounded "$2"; printf '\n%s' "$?"; } | head -c "$(($4 + 16))" )
  emit "$1" ok "$o"
}
p_svc() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    o="init=systemd
active=$(systemctl is-active -- "$2")
enabled=$(systemctl is-enabled -- "$2")"
  else
    if [ ! -x "/etc/init.d/$2" ]; then r=none
    elif command -v service >/dev/null; then service "$2" status >/dev/null; r=$?
    else "/etc/init.d/$2" status >/dev/null; r=$?; fi
    e=no
    for l in /etc/rc2.d/S??"$2" /etc/rc3.d/S??"$2" /etc/rc5.d/S??"$2" /etc/runlevels/default/"$2"; do
      [ -e "$l" ] && e=yes
    done
    [ -e "/etc/init.d/$2" ] || e=none
    o="init=sysv
status=$r
enabled=$e"
  fi
  emit "$1" ok "$o"
}
p_pkg() {
  # Every instance: rpm keeps several versions (kernel), dpkg multiarch
  # copies (libssl3:amd64, libssl3:i386). See evaluate/package.rs.
  if command -v dpkg-query >/dev/null; then
    o="manager=dpkg
$(dpkg-query -W -f='${Architecture}\t${Status}\t${Version}\n' -- "$2")"
  elif command -v rpm >/dev/null; then
    if v=$(rpm -q --qf '%{ARCH}\t%{EPOCH}:%{VERSION}-%{RELEASE}\n' -- "$2"); then o="manager=rpm
$v"
    else o="manager=rpm"; fi
  elif command -v apk >/dev/null; then
    if apk info -e -- "$2" >/dev/null; then o="manager=apk
$(apk info -e -v -- "$2")"
    else o="manager=apk"; fi
  else o="manager=none"; fi
  emit "$1" ok "$o"
}
"#;

/// Builds the script for `probes`. `nonce` must be unpredictable by the host.
pub fn build(probes: &[Probe], nonce: &str) -> Result<String, QuoteError> {
    let mut script = String::with_capacity(PRELUDE.len() + BOUNDED.len() + RUN_CMD.len() + probes.len() * 64);
    script.push_str(&format!("N={}\n", quote(nonce)?));
    script.push_str(PRELUDE);
    script.push_str(BOUNDED);
    script.push_str(RUN_CMD);
    // One brace group, parsed whole before it runs, with stdin from
    // /dev/null: `sh -s` reads the script itself from stdin, so a probed
    // command that read stdin would otherwise swallow the rest of it.
    script.push_str("{\n");
    for (i, probe) in probes.iter().enumerate() {
        let line = match probe {
            Probe::Read { path, max } => format!("p_read {i} {} {}", quote(&max.to_string())?, quote(path)?),
            Probe::Stat { path } => format!("p_stat {i} {}", quote(path)?),
            Probe::Lstat { path } => format!("p_lstat {i} {}", quote(path)?),
            Probe::Command { command, timeout, max } => {
                let secs = timeout.as_secs().max(1).to_string();
                format!(
                    "p_cmd {i} {} {} {}",
                    quote(&secs)?,
                    quote(command)?,
                    quote(&max.to_string())?
                )
            }
            Probe::Service { name } => format!("p_svc {i} {}", quote(name)?),
            Probe::Package { name } => format!("p_pkg {i} {}", quote(name)?),
            Probe::SshdConfig { path, max, lstat } => format!(
                "p_sshd {i} {} {} {} {} {} {}",
                quote(&max.to_string())?,
                quote(&super::SSHD_MAX_FILES.to_string())?,
                quote(&super::SSHD_MAX_NAMES.to_string())?,
                quote(&u8::from(*lstat).to_string())?,
                quote(&super::SSHD_MAX_INCLUDED.to_string())?,
                quote(path)?
            ),
        };
        script.push_str(&line);
        script.push('\n');
    }
    script.push_str("printf 'RECTIFY:%s:end\\n' \"$N\"\n} </dev/null\n");
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::PackageState;
    use crate::collect::framing::{parse_output, ProbeOutput};
    use crate::evaluate::package::{self, PackageFacts};
    use crate::evaluate::RuleStatus;
    use crate::version::VersionConstraint;
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    fn run_locally(probes: &[Probe]) -> Vec<ProbeOutput> {
        run_locally_with(probes, &[])
    }

    fn run_locally_with(probes: &[Probe], env: &[(&str, &std::path::Path)]) -> Vec<ProbeOutput> {
        run_script(&build(probes, "n0nce").unwrap(), probes.len(), env)
    }

    /// The generated script with `dir` first in its PATH.
    fn with_path_first(probes: &[Probe], dir: &std::path::Path) -> String {
        let script = build(probes, "n0nce").unwrap();
        let with = script.replacen(
            "PATH=/usr/local/sbin:",
            &format!("PATH={}:/usr/local/sbin:", quote(dir.to_str().unwrap()).unwrap()),
            1,
        );
        assert_ne!(with, script, "the script sets PATH");
        with
    }

    fn run_script(script: &str, probes: usize, env: &[(&str, &std::path::Path)]) -> Vec<ProbeOutput> {
        let mut child = Command::new("sh")
            .arg("-s")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        parse_output(&out.stdout, "n0nce", probes).unwrap()
    }

    #[test]
    fn hostile_file_contents_come_back_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let forged = "RECTIFY:n0nce:1:ok:3\nabc\nRECTIFY:n0nce:end\n";
        let binary: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("forged", forged.as_bytes().to_vec()),
            ("binary", binary),
            ("no-newline", b"last line".to_vec()),
            ("empty", Vec::new()),
            ("it's a \"path\" with $(spaces)", b"quoted\n".to_vec()),
        ];
        let mut probes = Vec::new();
        for (name, content) in &cases {
            let p = dir.path().join(name);
            std::fs::write(&p, content).unwrap();
            probes.push(Probe::Read {
                path: p.to_str().unwrap().to_string(),
                max: 1 << 20,
            });
        }
        let outputs = run_locally(&probes);
        for ((name, content), out) in cases.iter().zip(outputs) {
            assert_eq!(out, ProbeOutput::Ok(content.clone()), "case {name}");
        }
    }

    #[test]
    fn missing_directories_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 2048]).unwrap();
        let probes = vec![
            Probe::Read {
                path: dir.path().join("nope").to_str().unwrap().into(),
                max: 100,
            },
            Probe::Read {
                path: dir.path().to_str().unwrap().into(),
                max: 100,
            },
            Probe::Read {
                path: big.to_str().unwrap().into(),
                max: 1024,
            },
            Probe::Read {
                path: big.to_str().unwrap().into(),
                max: 2048,
            },
        ];
        let out = run_locally(&probes);
        assert_eq!(out[0], ProbeOutput::Missing);
        assert_eq!(out[1], ProbeOutput::Status("isdir".into()));
        assert_eq!(out[2], ProbeOutput::Status("toolarge".into()));
        assert_eq!(out[3], ProbeOutput::Ok(vec![b'x'; 2048]));
    }

    #[test]
    fn commands_report_output_and_exit_status_and_are_bounded() {
        let probes = vec![
            Probe::Command {
                command: "echo hello; exit 3".into(),
                timeout: Duration::from_secs(5),
                max: 1024,
            },
            Probe::Command {
                command: "yes".into(),
                timeout: Duration::from_secs(5),
                max: 1024,
            },
            Probe::Command {
                command: "echo '$(id)'; printf 'a\\0b'".into(),
                timeout: Duration::from_secs(5),
                max: 1024,
            },
            Probe::Command {
                command: "cat".into(),
                timeout: Duration::from_secs(5),
                max: 1024,
            },
        ];
        let out = run_locally(&probes);
        assert_eq!(out[0], ProbeOutput::Ok(b"hello\n\n3".to_vec()));
        match &out[1] {
            ProbeOutput::Ok(b) => assert!(b.len() <= 1024 + 16, "bounded, got {}", b.len()),
            other => panic!("{other:?}"),
        }
        match &out[2] {
            ProbeOutput::Ok(b) => assert!(b.starts_with(b"$(id)\n"), "{:?}", String::from_utf8_lossy(b)),
            other => panic!("{other:?}"),
        }
        // `cat` reads stdin: it must see nothing, not the rest of the script.
        assert_eq!(out[3], ProbeOutput::Ok(b"\n0".to_vec()));
    }

    #[test]
    fn stat_reports_mode_and_owner() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
        let out = run_locally(&[Probe::Stat {
            path: f.to_str().unwrap().into(),
        }]);
        let ProbeOutput::Ok(text) = &out[0] else {
            panic!("{out:?}")
        };
        assert!(
            String::from_utf8_lossy(text).starts_with("640 "),
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }

    /// Whether the real-dpkg tests can run: where dpkg is the package
    /// manager (the Debian build and test hosts). Elsewhere the unit tests
    /// in evaluate/package.rs cover the parsing of dpkg, rpm and apk
    /// answers; but CI runs on Debian, where a missing dpkg-query fails.
    fn has_dpkg_query() -> bool {
        let here = Command::new("dpkg-query")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            here || std::env::var_os("CI").is_none(),
            "dpkg-query is missing on a CI machine"
        );
        if !here {
            eprintln!("no dpkg-query here: the real dpkg test does not apply");
        }
        here
    }

    #[test]
    fn packages_from_this_machines_dpkg() {
        if !has_dpkg_query() {
            return;
        }
        let direct = Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", "dpkg"])
            .output()
            .unwrap();
        let direct = String::from_utf8(direct.stdout).unwrap();
        assert!(!direct.is_empty());
        let out = run_locally(&[
            Probe::Package { name: "dpkg".into() },
            Probe::Package {
                name: "rectify-no-such-package".into(),
            },
        ]);
        let dpkg = PackageFacts::parse("dpkg", &out[0]).unwrap();
        assert_eq!(dpkg.manager, "dpkg");
        assert_eq!(dpkg.versions(), [direct.as_str()]);
        let none = PackageFacts::parse("rectify-no-such-package", &out[1]).unwrap();
        assert_eq!((none.manager.as_str(), none.installed.len()), ("dpkg", 0));
    }

    #[test]
    fn packages_with_multiarch_instances_from_a_real_dpkg_query() {
        if !has_dpkg_query() {
            return;
        }
        // A dpkg database of its own (dpkg-query reads $DPKG_ADMINDIR): libssl3
        // for amd64 and an older one for i386, and a removed package.
        let admin = tempfile::tempdir().unwrap();
        let entry = |package: &str, status: &str, arch: &str, version: &str| {
            format!(
                "Package: {package}\nStatus: {status}\nPriority: optional\nSection: libs\n\
                 Installed-Size: 1\nMaintainer: Nobody <nobody@example.org>\nArchitecture: {arch}\n\
                 Multi-Arch: same\nVersion: {version}\nDescription: test\n\n"
            )
        };
        let status = [
            entry("libssl3", "install ok installed", "amd64", "3.0.15-1~deb12u1"),
            entry("libssl3", "install ok installed", "i386", "3.0.11-1~deb12u2"),
            entry("gone", "deinstall ok config-files", "amd64", "1.0-1"),
        ]
        .concat();
        std::fs::write(admin.path().join("status"), status).unwrap();
        std::fs::write(admin.path().join("available"), "").unwrap();
        std::fs::create_dir(admin.path().join("info")).unwrap();
        std::fs::create_dir(admin.path().join("updates")).unwrap();
        let probes = [
            Probe::Package { name: "libssl3".into() },
            Probe::Package { name: "gone".into() },
        ];
        let out = run_locally_with(&probes, &[("DPKG_ADMINDIR", admin.path())]);
        let libssl = PackageFacts::parse("libssl3", &out[0]).unwrap();
        assert_eq!(libssl.versions(), ["3.0.11-1~deb12u2", "3.0.15-1~deb12u1"]);
        let arches: Vec<_> = libssl.installed.iter().filter_map(|i| i.arch.as_deref()).collect();
        assert_eq!(arches, ["amd64", "i386"]);
        let libssl3_at_least = |c: &str| {
            let c: VersionConstraint = c.parse().unwrap();
            package::verdict("libssl3", PackageState::Installed, Some(&c), &out[0]).unwrap()
        };
        let v = libssl3_at_least(">= 3.0.15");
        assert_eq!(v.status, RuleStatus::Fail, "the old i386 instance is drift");
        assert_eq!(
            v.actual.as_deref(),
            Some("installed 3.0.11-1~deb12u2, 3.0.15-1~deb12u1")
        );
        assert_eq!(libssl3_at_least(">= 3.0.11").status, RuleStatus::Pass);
        let v = package::verdict("gone", PackageState::Absent, None, &out[1]).unwrap();
        assert_eq!(v.status, RuleStatus::Pass);
    }

    fn command(command: &str, secs: u64) -> Probe {
        Probe::Command {
            command: command.into(),
            timeout: Duration::from_secs(secs),
            max: 1024,
        }
    }

    #[test]
    fn commands_are_bounded_by_an_old_busybox_timeout() {
        // busybox before 1.30 only knows `timeout -t SECS`.
        let dir = tempfile::tempdir().unwrap();
        let log = crate::shell::test_support::old_busybox_timeout(dir.path());
        let probes = [command("echo hello; exit 3", 5), command("sleep 30", 1)];
        let out = run_script(&with_path_first(&probes, dir.path()), probes.len(), &[]);
        assert_eq!(out[0], ProbeOutput::Ok(b"hello\n\n3".to_vec()));
        // Killed (128 + 9) after its one second, not run to its end.
        assert_eq!(out[1], ProbeOutput::Ok(b"\n137".to_vec()));
        let calls = std::fs::read_to_string(log).unwrap();
        assert!(calls.contains("-s KILL -t 1 sh -c "), "{calls}");
    }

    /// `p_sshd` on real files with a real `sh`: what it reads, and what the
    /// controller then makes of it.
    fn sshd_config(main: &std::path::Path, lstat: bool) -> crate::conftext::include::ConfigFiles {
        let path = main.to_str().unwrap().to_string();
        let probes = [Probe::SshdConfig {
            path: path.clone(),
            max: 1 << 20,
            lstat,
        }];
        let out = run_locally(&probes);
        crate::conftext::include::ConfigFiles::decode(&out[0], &path, lstat).unwrap()
    }

    #[test]
    fn sshd_includes_are_expanded_on_the_host_in_lexical_order() {
        use crate::conftext::include::locate;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let write = |rel: &str, text: &str| std::fs::write(dir.path().join(rel), text).unwrap();
        std::fs::create_dir_all(dir.path().join("conf.d/nested")).unwrap();
        // Byte order: "1" < "5" < "A" < "a"; the shell must not sort
        // numerically or by locale.
        write(
            "conf.d/50-cloud-init.conf",
            "PasswordAuthentication yes\nLogLevel DEBUG\n",
        );
        write("conf.d/10-z.conf", &format!("Include {d}/conf.d/nested/*.conf\n"));
        write("conf.d/nested/x.conf", "LogLevel INFO\nMaxAuthTries 2\n");
        write("conf.d/A.conf", "MaxAuthTries 9\nX11Forwarding yes\n");
        write("conf.d/a.conf", "X11Forwarding no\nBanner /a\n");
        write("conf.d/.hidden.conf", "Banner /hidden\n");
        write("conf.d/skip.txt", "Banner /txt\n");
        write(
            "sshd_config",
            &format!(
                "Banner /main\nInclude {d}/missing/*.conf \"{d}/conf.d/*.conf\" # drop-ins\n\
                 PasswordAuthentication no\nInclude {d}/conf.d/*.conf\nPort 22\n"
            ),
        );
        let main = dir.path().join("sshd_config");
        let files = sshd_config(&main, false);
        let main = main.to_str().unwrap();
        let at = |key: &str| {
            let found = locate(&files, main, key).unwrap().expect(key);
            (
                found.value,
                found.file.rsplit('/').next().unwrap().to_string(),
                found.line + 1,
            )
        };
        assert_eq!(
            at("PasswordAuthentication"),
            ("yes".into(), "50-cloud-init.conf".into(), 1)
        );
        assert_eq!(at("LogLevel"), ("INFO".into(), "x.conf".into(), 1));
        assert_eq!(at("MaxAuthTries"), ("2".into(), "x.conf".into(), 2));
        assert_eq!(at("X11Forwarding"), ("yes".into(), "A.conf".into(), 2));
        assert_eq!(at("Banner"), ("/main".into(), "sshd_config".into(), 1));
        assert_eq!(at("Port"), ("22".into(), "sshd_config".into(), 5));
        // Each file is read once, however often it is included.
        assert_eq!(
            files.files.len(),
            6,
            "{:?}",
            files.files.iter().map(|f| &f.path).collect::<Vec<_>>()
        );
        let expanded = &files
            .globs
            .iter()
            .find(|(p, _)| p.ends_with("conf.d/*.conf"))
            .unwrap()
            .1;
        let names: Vec<&str> = expanded.iter().map(|m| m.rsplit('/').next().unwrap()).collect();
        assert_eq!(names, ["10-z.conf", "50-cloud-init.conf", "A.conf", "a.conf"]);
    }

    #[test]
    fn sshd_includes_are_bounded_and_hostile_names_stay_data() {
        use crate::conftext::include::locate;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        // A file including itself, and more files than the limit.
        std::fs::write(
            dir.path().join("loop_sshd_config"),
            format!("Include {d}/loop_sshd_config\nInclude {d}/loop_*\n"),
        )
        .unwrap();
        let looped = sshd_config(&dir.path().join("loop_sshd_config"), false);
        assert_eq!(looped.files.len(), 1);
        assert_eq!(looped.globs.len(), 2);
        let err = locate(&looped, &format!("{d}/loop_sshd_config"), "Port").unwrap_err();
        assert!(err.contains("16 levels"), "{err}");
        std::fs::create_dir(dir.path().join("many")).unwrap();
        for n in 0..(super::super::SSHD_MAX_FILES + 5) {
            std::fs::write(dir.path().join(format!("many/{n:03}.conf")), "Port 1\n").unwrap();
        }
        std::fs::write(
            dir.path().join("sshd_config"),
            format!("Include {d}/many/*.conf\nBanner /b\n"),
        )
        .unwrap();
        let many = sshd_config(&dir.path().join("sshd_config"), true);
        assert!(many.limited);
        assert_eq!(many.files.len(), super::super::SSHD_MAX_FILES);
        assert!(many.files.iter().all(|f| matches!(f.lstat, Some(ProbeOutput::Ok(_)))));
        // The first file is read, so its value is known; the value of a key
        // that is not in the files read is an error, not "not set".
        assert_eq!(
            locate(&many, &format!("{d}/sshd_config"), "Port")
                .unwrap()
                .unwrap()
                .value,
            "1"
        );
        let err = locate(&many, &format!("{d}/sshd_config"), "Banner").unwrap_err();
        assert!(err.contains("limit"), "{err}");
        // Names with quotes, `$(…)` and newlines are read as they are.
        let odd = dir.path().join("odd");
        std::fs::create_dir(&odd).unwrap();
        let hostile = "it's $(touch pwned) `id`\n.conf";
        std::fs::write(odd.join(hostile), "Banner /odd\n").unwrap();
        std::fs::write(dir.path().join("odd_sshd_config"), format!("Include {d}/odd/*\n")).unwrap();
        let files = sshd_config(&dir.path().join("odd_sshd_config"), false);
        let found = locate(&files, &format!("{d}/odd_sshd_config"), "Banner")
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.value.as_str(), found.file.as_str()),
            ("/odd", odd.join(hostile).to_str().unwrap())
        );
        assert!(!std::path::Path::new("pwned").exists() && !odd.join("pwned").exists());
    }

    #[test]
    fn sshd_included_files_are_bounded_in_total_bytes() {
        use crate::conftext::include::locate;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        std::fs::create_dir(dir.path().join("big")).unwrap();
        // Six drop-ins of 900 KiB each, each under the per-file limit
        // (1 MiB here), together over the 4 MiB for included files.
        let filler = format!("# {}\n", "x".repeat(900 * 1024));
        for n in 0..6 {
            std::fs::write(
                dir.path().join(format!("big/{n}.conf")),
                format!("{filler}LogLevel L{n}\n"),
            )
            .unwrap();
        }
        std::fs::write(
            dir.path().join("sshd_config"),
            (0..6)
                .map(|n| format!("Include {d}/big/{n}.conf\n"))
                .collect::<String>()
                + "Banner /b\n",
        )
        .unwrap();
        let main = format!("{d}/sshd_config");
        let files = sshd_config(&dir.path().join("sshd_config"), false);
        let included: usize = files.files[1..]
            .iter()
            .map(|f| match &f.content {
                ProbeOutput::Ok(b) => b.len(),
                _ => 0,
            })
            .sum();
        assert!(included as u64 <= super::super::SSHD_MAX_INCLUDED, "{included}");
        // What was read decides; what was not is an error naming the limit.
        assert_eq!(locate(&files, &main, "LogLevel").unwrap().unwrap().value, "L0");
        let err = locate(&files, &main, "Banner").unwrap_err();
        assert!(err.contains("4 MiB") && err.contains("big/4.conf"), "{err}");
    }

    #[test]
    fn commands_still_run_where_there_is_no_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let bin = crate::shell::test_support::only_tools(dir.path(), &["sh", "head", "wc"]);
        let script = build(&[command("echo hello; exit 3", 5)], "n0nce").unwrap();
        let script = script.replacen(
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin;",
            &format!("PATH={};", quote(bin.to_str().unwrap()).unwrap()),
            1,
        );
        assert!(script.contains(bin.to_str().unwrap()));
        let out = run_script(&script, 1, &[]);
        assert_eq!(out[0], ProbeOutput::Ok(b"hello\n\n3".to_vec()));
    }
}
