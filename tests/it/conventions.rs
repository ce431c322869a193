//! What users expect of a command-line tool: completions each shell loads
//! and completes with, a man page `man` renders, and defaults from
//! `RECTIFY_*` variables and config files with the command line winning.
//! Checked with the shells and `man`/`groff` themselves; none needs a fleet
//! (the audits are `--local`, read-only).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::fleet::{rectify_bin, run_rectify, write};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `program args…` and returns its output; the tool must exist (CI
/// installs it: .ci/run).
fn tool(program: &str, args: &[&str], input: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .env("MANWIDTH", "80")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} is needed for this test (see .ci/run): {e}"));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.unwrap_or_default()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn completions(shell: &str, dir: &Path) -> String {
    let out = run_rectify(&["completions", shell], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    write(dir, &format!("rectify.{shell}"), &text(&out.stdout))
        .display()
        .to_string()
}

#[test]
fn completions_load_and_complete_in_bash_zsh_and_fish() {
    let dir = tempfile::tempdir().unwrap();
    let bash = completions("bash", dir.path());
    let out = tool("bash", &["-n", &bash], None);
    assert!(out.status.success(), "bash -n: {}", text(&out.stderr));
    // Loaded as bash-completion would, the function completes commands and
    // option values.
    let script = format!(
        "source {bash}\n\
         COMP_WORDS=(rectify au); COMP_CWORD=1; _rectify rectify au rectify; echo \"cmd: ${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(rectify audit --host-key-policy ''); COMP_CWORD=3; _rectify rectify '' --host-key-policy; echo \"policy: ${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(rectify runs -); COMP_CWORD=2; _rectify rectify - runs; echo \"runs: ${{COMPREPLY[*]}}\"\n"
    );
    let out = tool("bash", &["-c", &script], None);
    let said = text(&out.stdout);
    assert!(said.contains("cmd: audit\n"), "{said}{}", text(&out.stderr));
    assert!(said.contains("policy: strict accept-new\n"), "{said}");
    let runs = said.lines().find(|l| l.starts_with("runs: ")).unwrap();
    assert!(runs.contains("--count"), "{runs}");

    let zsh = completions("zsh", dir.path());
    let out = tool("zsh", &["-n", &zsh], None);
    assert!(out.status.success(), "zsh -n: {}", text(&out.stderr));
    assert!(std::fs::read_to_string(&zsh).unwrap().starts_with("#compdef rectify"));

    let fish = completions("fish", dir.path());
    let out = tool(
        "fish",
        &["-c", &format!("source {fish}; complete -C 'rectify aud'")],
        None,
    );
    assert!(out.status.success(), "fish: {}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("audit\t"), "{}", text(&out.stdout));
}

#[test]
fn the_man_pages_render() {
    let out = run_rectify(&["man"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let page = tool("man", &["-l", "-"], Some(&out.stdout));
    // man justifies lines: compare words.
    let shown = text(&page.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(page.status.success(), "{}", text(&page.stderr));
    assert!(
        shown.contains("NAME") && shown.contains("rectify - Audit and repair"),
        "{shown}"
    );
    assert!(shown.contains("rectify-audit(1)"), "the commands are listed: {shown}");

    // Every page, as packagers install them: groff (reading UTF-8, as man
    // has it do) finds nothing to warn of.
    let dir = tempfile::tempdir().unwrap();
    let out = run_rectify(&["man", "--dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for name in [
        "rectify.1",
        "rectify-audit.1",
        "rectify-rollback.1",
        "rectify-completions.1",
    ] {
        assert!(pages.contains(&name.to_string()), "{pages:?}");
    }
    for page in &pages {
        let out = tool(
            "groff",
            &[
                "-K",
                "utf8",
                "-z",
                "-ww",
                "-man",
                dir.path().join(page).to_str().unwrap(),
            ],
            None,
        );
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{page}: {}",
            text(&out.stderr)
        );
    }
    let out = run_rectify(&["man", "rollback"], &[]);
    let page = tool("man", &["-l", "-"], Some(&out.stdout));
    assert!(text(&page.stdout).contains("last-apply"), "{}", text(&page.stdout));
    // Where defaults come from is on the main page.
    assert!(shown.contains("RECTIFY_"), "{shown}");
}

/// `rectify audit --local` of a one-rule baseline, in `dir` as HOME, with
/// `envs`; no host is contacted.
fn local_audit(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let b = write(
        dir,
        "b.yaml",
        "name: b\nrules:\n  - {id: OS, sysctl: kernel.ostype, check: live, expect: Linux}\n",
    );
    let mut cmd = Command::new(rectify_bin());
    cmd.args(["audit", "--local", "-b", b.to_str().unwrap(), "--no-progress"])
        .args(args)
        .env("HOME", dir)
        .env_remove("XDG_CONFIG_HOME")
        .env("RECTIFY_STATE_DIR", dir.join("state"))
        .env("NO_COLOR", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn defaults_come_from_the_config_file_and_environment_and_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::create_dir_all(home.join(".config/rectify")).unwrap();
    std::fs::write(
        home.join(".config/rectify/config.toml"),
        "# my defaults\nforks = 4\n\n[audit]\nformat = \"json\"\n",
    )
    .unwrap();
    let kind = |out: &Output| -> &'static str {
        let s = text(&out.stdout);
        if s.starts_with('{') {
            "json"
        } else if s.starts_with("<?xml") {
            "junit"
        } else if s.starts_with("COMPLIANT") {
            "human"
        } else {
            panic!("{s}{}", text(&out.stderr))
        }
    };
    // The user's file.
    assert_eq!(kind(&local_audit(home, &[], &[])), "json");
    // The environment over the file.
    assert_eq!(kind(&local_audit(home, &[], &[("RECTIFY_FORMAT", "junit")])), "junit");
    // The command line over both.
    let out = local_audit(home, &["--format", "human"], &[("RECTIFY_FORMAT", "junit")]);
    assert_eq!(kind(&out), "human");
    assert_eq!(out.status.code(), Some(0));

    // A bad file: exit 2, its position, and nothing run or recorded.
    std::fs::remove_dir_all(home.join("state")).unwrap();
    std::fs::write(home.join(".config/rectify/config.toml"), "[audit]\nformat = \"jsno\"\n").unwrap();
    let out = local_audit(home, &[], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let file = home.join(".config/rectify/config.toml");
    assert!(
        err.contains(&format!("{}:2:10: invalid value 'jsno'", file.display())),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert!(!home.join("state").exists(), "nothing was recorded");
    // --config FILE reads that file instead.
    let other = write(home, "other.toml", "[audit]\nformat = \"junit\"\n");
    let out = local_audit(home, &["--config", other.to_str().unwrap()], &[]);
    assert_eq!(kind(&out), "junit");
}
