//! The collection script: POSIX `sh`, sent on stdin, one run per host.
//!
//! Every fact is printed as a frame: a header line
//! `RECTIFY:<nonce>:<index>:<status>:<length>` followed by exactly `length`
//! bytes. The nonce is random per run, so no file content can forge a
//! header, and lengths let content be anything (binary, no final newline,
//! lines that look like headers). This is the skeleton; each kind's own
//! function and call line are in [`super::facts`].

use crate::shell::{quote, QuoteError, BOUNDED, RUN_CMD};

use super::facts::{self, Probe};

/// What every script starts with, before the kinds' functions: the
/// environment and the framing every function prints through. Values only
/// ever reach the functions as quoted positional arguments.
const SKELETON: &str = r#"LC_ALL=C; export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
exec 2>/dev/null
frame() { printf 'RECTIFY:%s:%s:%s:%s\n' "$N" "$1" "$2" "$3"; }
# bytes TEXT: TEXT's length in bytes, in $n. ${#} counts bytes in a shell
# that follows LC_ALL=C (dash, bash, busybox ash): 2 for this é, and no
# process. A shell that counts characters gets 1, and `wc` counts.
r_e='é'
if [ "${#r_e}" = 2 ]; then bytes() { n=${#1}; }
else bytes() { n=$(printf '%s' "$1" | wc -c); n=$((n)); }; fi
emit() { bytes "$3"; frame "$1" "$2" "$n"; printf '%s' "$3"; }
"#;

/// Builds the script for `probes`. `nonce` must be unpredictable by the host.
pub fn build(probes: &[Probe], nonce: &str) -> Result<String, QuoteError> {
    build_asking(probes, nonce, &|_| true)
}

/// Builds the script for the probes for which `ask(index)` holds, each
/// framed with its index in `probes`; the others are answered without the
/// host ([`super::gather`]).
pub fn build_asking(probes: &[Probe], nonce: &str, ask: &dyn Fn(usize) -> bool) -> Result<String, QuoteError> {
    let functions = facts::shell_functions();
    let mut script =
        String::with_capacity(SKELETON.len() + functions.len() + BOUNDED.len() + RUN_CMD.len() + probes.len() * 64);
    script.push_str(&format!("N={}\n", quote(nonce)?));
    script.push_str(SKELETON);
    script.push_str(&functions);
    script.push_str(BOUNDED);
    script.push_str(RUN_CMD);
    // One brace group, parsed whole before it runs, with stdin from
    // /dev/null: `sh -s` reads the script itself from stdin, so a probed
    // command that read stdin would otherwise swallow the rest of it.
    script.push_str("{\n");
    for (i, probe) in probes.iter().enumerate().filter(|(i, _)| ask(*i)) {
        script.push_str(&probe.call(i)?);
        script.push('\n');
    }
    script.push_str("printf 'RECTIFY:%s:end\\n' \"$N\"\n} </dev/null\n");
    Ok(script)
}

/// Running generated scripts with a real `sh`, for each kind's tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::collect::framing::{parse_output, ProbeOutput};
    use std::io::Write;
    use std::process::{Command, Stdio};

    pub fn build_for_test(probes: &[Probe]) -> String {
        build(probes, "n0nce").unwrap()
    }

    pub fn run_locally(probes: &[Probe]) -> Vec<ProbeOutput> {
        run_locally_with(probes, &[])
    }

    pub fn run_locally_with(probes: &[Probe], env: &[(&str, &std::path::Path)]) -> Vec<ProbeOutput> {
        run_script(&build_for_test(probes), probes.len(), env)
    }

    /// The generated script with `dir` first in its PATH.
    pub fn with_path_first(probes: &[Probe], dir: &std::path::Path) -> String {
        let script = build_for_test(probes);
        let with = script.replacen(
            "PATH=/usr/local/sbin:",
            &format!("PATH={}:/usr/local/sbin:", quote(dir.to_str().unwrap()).unwrap()),
            1,
        );
        assert_ne!(with, script, "the script sets PATH");
        with
    }

    pub fn run_script(script: &str, probes: usize, env: &[(&str, &std::path::Path)]) -> Vec<ProbeOutput> {
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
}

#[cfg(test)]
mod tests {
    use super::test_support::build_for_test;
    use crate::collect::facts::stat::Stat;
    use crate::collect::framing::{parse_output, ProbeOutput};
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// A login shell that prints a prompt without a newline before the
    /// script (it glues onto the first frame's header) and more text
    /// without a newline after it: every fact is read as without noise.
    #[test]
    fn noise_without_newlines_around_the_script_changes_no_fact() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "x").unwrap();
        let probes = [
            Stat {
                path: f.to_str().unwrap().into(),
            }
            .into(),
            Stat {
                path: dir.path().join("absent").to_str().unwrap().into(),
            }
            .into(),
        ];
        let script = build_for_test(&probes);
        let run = |wrapper: &str| {
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(wrapper)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
            child.wait_with_output().unwrap().stdout
        };
        let quiet = parse_output(&run("sh -s"), "n0nce", probes.len()).unwrap();
        let noisy_out = run("printf 'motd> RECTIFY:other:0:ok:1\\n'; printf 'motd> '; sh -s; printf 'bye> '");
        assert!(
            String::from_utf8_lossy(&noisy_out).starts_with("motd> RECTIFY:other:0:ok:1\nmotd> RECTIFY:n0nce:0:"),
            "the prompt glues onto the first header"
        );
        let noisy = parse_output(&noisy_out, "n0nce", probes.len()).unwrap();
        assert_eq!(noisy, quiet);
        assert!(matches!(quiet[0], ProbeOutput::Ok(_)), "{quiet:?}");
        assert_eq!(quiet[1], ProbeOutput::Missing);
    }
}
