//! The planner's rules, one step kind and one refusal at a time.

use super::*;
use crate::baseline::Expect;
use crate::collect::facts::sshd_config::ConfigFiles;
use crate::steps::command::Command;
use crate::steps::file::File;
use crate::steps::setting::Setting;
use crate::steps::sysctl::Sysctl;
use crate::steps::template::Template;
use crate::steps::{Meta, StepKind};

/// The planner over steps given by value, as the tests build them.
fn plan(steps: &[Step], facts: &Facts, redactor: &Redactor) -> Result<HostPlan, PlanError> {
    super::plan(&steps.iter().collect::<Vec<_>>(), facts, redactor)
}

fn regular(content: &str, mode: u32) -> FileFacts {
    FileFacts {
        kind: FileKind::Regular,
        mode,
        uid: 0,
        gid: 0,
        owner: "root".into(),
        group: "root".into(),
        content: Ok(content.as_bytes().to_vec()),
    }
}

fn info<K: StepKind + Clone + 'static>(name: &str, kind: &K, notify: &[usize]) -> Step {
    Step::internal(name.to_string(), Box::new(kind.clone()), notify.to_vec(), false)
}

const MAIN: &str = "/etc/ssh/sshd_config";
const CLOUD: &str = "/etc/ssh/sshd_config.d/50-cloud-init.conf";

/// Facts for an sshd configuration: its files (the main one first) and
/// what each `Include` pattern expanded to on the host.
fn sshd_facts(files: &[(&str, &str)], globs: &[(&str, &[&str])]) -> Facts {
    use crate::collect::facts::sshd_config::CollectedFile;
    use crate::collect::ProbeOutput;
    let mut facts = Facts::default();
    let mut tree = ConfigFiles::default();
    for (path, text) in files {
        facts.files.insert(path.to_string(), regular(text, 0o644));
        tree.files.push(CollectedFile {
            path: path.to_string(),
            lstat: None,
            content: ProbeOutput::Ok(text.as_bytes().to_vec()),
        });
    }
    for (pattern, matches) in globs {
        tree.globs
            .push((pattern.to_string(), matches.iter().map(|m| m.to_string()).collect()));
    }
    facts.sshd.insert(files[0].0.to_string(), tree);
    facts
}

fn set(key: &str, value: &str) -> Setting {
    Setting {
        file: MAIN.into(),
        key: key.into(),
        value: value.into(),
        keep: None,
    }
}

fn written(p: &HostPlan) -> Vec<(String, String)> {
    p.files
        .iter()
        .map(|f| match &f.action {
            FileAction::Write { content, .. } => (f.path.clone(), String::from_utf8_lossy(content).into_owned()),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn an_sshd_setting_is_edited_where_sshd_reads_it() {
    let top = "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\nX11Forwarding yes\n";
    let globs: &[(&str, &[&str])] = &[("/etc/ssh/sshd_config.d/*.conf", &[CLOUD])];
    let facts = sshd_facts(
        &[(MAIN, top), (CLOUD, "# cloud-init\nPasswordAuthentication yes\n")],
        globs,
    );
    let (a, b, c) = (
        set("PasswordAuthentication", "no"),
        set("X11Forwarding", "no"),
        set("Banner", "/etc/issue.net"),
    );
    let p = plan(
        &[info("a", &a, &[0]), info("b", &b, &[0]), info("c", &c, &[0])],
        &facts,
        &Redactor::default(),
    )
    .unwrap();
    // The drop-in holds the effective PasswordAuthentication; the main
    // file the rest, and the key set nowhere goes into the main file.
    assert_eq!(
        written(&p),
        [
            (CLOUD.to_string(), "# cloud-init\nPasswordAuthentication no\n".to_string()),
            (
                MAIN.to_string(),
                "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\nX11Forwarding no\nBanner /etc/issue.net\n".to_string()
            ),
        ]
    );
    assert_eq!(p.changes[0].path, CLOUD);
    // Set before the Include, the main file's line is the one sshd reads.
    let first = "PasswordAuthentication yes\nInclude /etc/ssh/sshd_config.d/*.conf\n";
    let facts = sshd_facts(&[(MAIN, first), (CLOUD, "PasswordAuthentication yes\n")], globs);
    let p = plan(&[info("a", &a, &[])], &facts, &Redactor::default()).unwrap();
    assert_eq!(
        written(&p),
        [(
            MAIN.to_string(),
            "PasswordAuthentication no\nInclude /etc/ssh/sshd_config.d/*.conf\n".to_string()
        )]
    );
    // Already effective: nothing to do, even though the main file's own
    // line (never read by sshd) says otherwise.
    let facts = sshd_facts(
        &[
            (
                MAIN,
                "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\n",
            ),
            (CLOUD, "PasswordAuthentication no\n"),
        ],
        globs,
    );
    assert!(plan(&[info("a", &a, &[])], &facts, &Redactor::default())
        .unwrap()
        .is_empty());
}

#[test]
fn an_sshd_setting_that_cannot_be_placed_is_refused_naming_the_line() {
    // The include's pattern was not expanded (here: not reported), so
    // where sshd reads the key is unknown: refuse, name file:line.
    let facts = sshd_facts(
        &[(
            MAIN,
            "Port 22\nInclude /etc/ssh/other/*.conf\nPasswordAuthentication yes\n",
        )],
        &[],
    );
    let a = set("PasswordAuthentication", "no");
    let err = plan(&[info("a", &a, &[])], &facts, &Redactor::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/etc/ssh/sshd_config:2") && err.contains("/etc/ssh/other/*.conf"),
        "{err}"
    );
    // A quoted pattern with a blank, which the host cannot expand:
    // refused, naming the line, nothing planned.
    let facts = sshd_facts(
        &[(MAIN, "Include \"/etc/ssh/sp dir/*.conf\"\nPasswordAuthentication yes\n")],
        &[("/etc/ssh/sp", &[]), ("/etc/ssh/dir/*.conf", &[])],
    );
    let err = plan(&[info("a", &a, &[])], &facts, &Redactor::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/etc/ssh/sshd_config:1") && err.contains("sp dir"),
        "{err}"
    );
    // A drop-in that is a symbolic link is not written through.
    let mut facts = sshd_facts(
        &[
            (MAIN, "Include /etc/ssh/sshd_config.d/*.conf\n"),
            (CLOUD, "PasswordAuthentication yes\n"),
        ],
        &[("/etc/ssh/sshd_config.d/*.conf", &[CLOUD])],
    );
    facts.files.get_mut(CLOUD).unwrap().kind = FileKind::Symlink;
    let err = plan(&[info("a", &a, &[])], &facts, &Redactor::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains(CLOUD) && err.contains("symbolic link"), "{err}");
}

#[test]
fn two_steps_on_one_file_make_one_write_with_both_edits() {
    let facts = sshd_facts(&[(MAIN, "# keep me\nX11Forwarding yes\nPermitRootLogin yes\n")], &[]);
    let a = Setting {
        file: "/etc/ssh/sshd_config".into(),
        key: "X11Forwarding".into(),
        value: "no".into(),
        keep: None,
    };
    let b = Setting {
        file: "/etc/ssh/sshd_config".into(),
        key: "PermitRootLogin".into(),
        value: "no".into(),
        keep: None,
    };
    let p = plan(
        &[info("a", &a, &[0]), info("b", &b, &[0])],
        &facts,
        &Redactor::default(),
    )
    .unwrap();
    assert_eq!(p.files.len(), 1);
    assert_eq!(p.ops, vec![Op::File(0)]);
    assert_eq!(p.handlers, vec![0]);
    assert_eq!(p.changes.len(), 2);
    match &p.files[0].action {
        FileAction::Write { content, mode, .. } => {
            assert_eq!(
                String::from_utf8_lossy(content),
                "# keep me\nX11Forwarding no\nPermitRootLogin no\n"
            );
            assert_eq!(*mode, 0o644);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn nothing_to_do_is_an_empty_plan() {
    let mut facts = Facts::default();
    facts.files.insert("/etc/x".into(), regular("a 1\n", 0o600));
    let s = Setting {
        file: "/etc/x".into(),
        key: "a".into(),
        value: "1".into(),
        keep: None,
    };
    let f = File {
        path: "/etc/x".into(),
        absent: false,
        meta: Meta {
            mode: Some(0o600),
            max_mode: None,
            owner: Some("root".into()),
            group: Some("0".into()),
        },
    };
    let p = plan(&[info("s", &s, &[0]), info("f", &f, &[])], &facts, &Redactor::default()).unwrap();
    assert!(p.is_empty(), "{p:?}");
    assert!(p.handlers.is_empty());
}

#[test]
fn symlinks_and_missing_files_are_refused_before_anything_changes() {
    let mut facts = Facts::default();
    let mut link = regular("", 0o777);
    link.kind = FileKind::Symlink;
    facts.files.insert("/etc/link".into(), link);
    facts.files.insert("/etc/none".into(), FileFacts::missing());
    let t = Template {
        source: "x".into(),
        dest: "/etc/link".into(),
        meta: Meta::default(),
    };
    assert!(plan(&[info("t", &t, &[])], &facts, &Redactor::default())
        .unwrap_err()
        .to_string()
        .contains("symbolic link"));
    let s = Setting {
        file: "/etc/none".into(),
        key: "a".into(),
        value: "1".into(),
        keep: None,
    };
    assert!(plan(&[info("s", &s, &[])], &facts, &Redactor::default())
        .unwrap_err()
        .to_string()
        .contains("does not exist"));
}

#[test]
fn sysctl_sets_live_value_and_creates_the_persist_file() {
    let mut facts = Facts::default();
    facts.sysctl.insert("net.ipv4.ip_forward".into(), Ok("1\n".into()));
    facts.files.insert("/etc/sysctl.d/90.conf".into(), FileFacts::missing());
    facts.sysctl_files = Some(Ok(Default::default()));
    let s = Sysctl {
        key: "net.ipv4.ip_forward".into(),
        value: "0".into(),
        persist: Some("/etc/sysctl.d/90.conf".into()),
    };
    let p = plan(&[info("s", &s, &[])], &facts, &Redactor::default()).unwrap();
    assert_eq!(p.ops.len(), 2);
    assert!(matches!(&p.ops[0], Op::Sysctl { old, .. } if old == "1"));
    match &p.files[0].action {
        FileAction::Write { content, mode, .. } => {
            assert_eq!(String::from_utf8_lossy(content), "net.ipv4.ip_forward = 0\n");
            assert_eq!(*mode, 0o644);
        }
        other => panic!("{other:?}"),
    }
    assert!(p.changes[1].diff.starts_with("--- /dev/null"), "{}", p.changes[1].diff);
}

#[test]
fn sensitive_steps_never_show_content() {
    let mut facts = Facts::default();
    facts.files.insert("/etc/secret".into(), regular("old-secret\n", 0o600));
    let t = Template {
        source: "new-secret\n".into(),
        dest: "/etc/secret".into(),
        meta: Meta::default(),
    };
    let mut step = info("t", &t, &[]);
    step.sensitive = true;
    let p = plan(&[step], &facts, &Redactor::default()).unwrap();
    assert_eq!(p.changes[0].diff, HIDDEN);
    assert!(p.files[0].sensitive);
}

#[test]
fn max_mode_only_takes_bits_away() {
    let mut facts = Facts::default();
    facts.files.insert("/etc/wide".into(), regular("", 0o644));
    facts.files.insert("/etc/strict".into(), regular("", 0o600));
    let step = |path: &str| File {
        path: path.into(),
        absent: false,
        meta: Meta {
            max_mode: Some(0o640),
            ..Meta::default()
        },
    };
    let (wide, strict) = (step("/etc/wide"), step("/etc/strict"));
    let p = plan(
        &[info("w", &wide, &[]), info("s", &strict, &[])],
        &facts,
        &Redactor::default(),
    )
    .unwrap();
    assert_eq!(p.files.len(), 1);
    assert_eq!(
        p.files[0].action,
        FileAction::Chmod {
            mode: Some(0o640),
            owner: None,
            group: None
        }
    );
}

#[test]
fn satisfied_commands_do_not_run() {
    let mut facts = Facts::default();
    facts.satisfied.insert(0, true);
    facts.satisfied.insert(1, false);
    let c = Command {
        command: "x".into(),
        unless: Some("true".into()),
        creates: None,
        rollback: None,
    };
    let p = plan(&[info("a", &c, &[]), info("b", &c, &[])], &facts, &Redactor::default()).unwrap();
    assert_eq!(p.ops.len(), 1);
}

#[test]
fn a_persisted_sysctl_value_must_be_what_the_next_boot_loads() {
    use crate::collect::facts::sysctl_files::SysctlFound;
    use crate::collect::ProbeOutput;
    let found = |files: &[(&str, &str)]| SysctlFound {
        files: files
            .iter()
            .map(|(p, t)| (p.to_string(), ProbeOutput::Ok(t.as_bytes().to_vec())))
            .collect(),
        limited: false,
    };
    let step = |persist: &str| Sysctl {
        key: "net.ipv4.ip_forward".into(),
        value: "0".into(),
        persist: Some(persist.into()),
    };
    let run = |s: &Sysctl, files: SysctlFound| {
        let mut facts = Facts::default();
        facts.sysctl.insert("net.ipv4.ip_forward".into(), Ok("0\n".into()));
        for (p, _) in &files.files {
            facts.files.insert(p.clone(), FileFacts::missing());
        }
        facts.files.insert(s.persist.clone().unwrap(), FileFacts::missing());
        facts.sysctl_files = Some(Ok(files));
        plan(&[info("s", s, &[])], &facts, &Redactor::default()).map(|p| p.files.len())
    };
    // /etc/sysctl.conf is read last and sets it otherwise: refused, naming it.
    let err = run(
        &step("/etc/sysctl.d/90-rectify.conf"),
        found(&[("/etc/sysctl.conf", "# x\nnet/ipv4/ip_forward=1\n")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("/etc/sysctl.conf:2 sets 1"), "{err}");
    // A name sorting later in another directory overrides it too.
    let err = run(
        &step("/etc/sysctl.d/10-rectify.conf"),
        found(&[("/run/sysctl.d/20-late.conf", "-net.ipv4.ip_forward = 1\n")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("/run/sysctl.d/20-late.conf:1"), "{err}");
    // A same-named file in an earlier directory hides the persist file.
    let err = run(
        &step("/run/sysctl.d/90-rectify.conf"),
        found(&[("/etc/sysctl.d/90-rectify.conf", "kernel.x = 1\n")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("reads /etc/sysctl.d/90-rectify.conf instead"), "{err}");
    let err = run(&step("/etc/rectify-sysctl.conf"), found(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not read at boot"), "{err}");
    // Written where it wins: planned.
    assert_eq!(
        run(
            &step("/etc/sysctl.d/99-zz.conf"),
            found(&[("/etc/sysctl.d/50-a.conf", "net.ipv4.ip_forward = 1\n")])
        )
        .unwrap(),
        1
    );
}

#[test]
fn an_sshd_setting_edits_each_match_block_that_gives_another_value_and_keeps_stricter_ones() {
    let main = "MaxAuthTries 2\nPermitRootLogin no\nInclude /etc/ssh/sshd_config.d/*.conf\n";
    let blocks = "Match User root\n\tPermitRootLogin yes\n\tMaxAuthTries 10\n\
                  Match Address 10.0.0.0/8\n  MaxAuthTries 3 # lab\n  PermitRootLogin prohibit-password\n";
    let facts = sshd_facts(
        &[(MAIN, main), (CLOUD, blocks)],
        &[("/etc/ssh/sshd_config.d/*.conf", &[CLOUD])],
    );
    let keep = |e: Expect| Some(e);
    let tries = Setting {
        keep: keep(Expect::Max("4".into())),
        ..set("MaxAuthTries", "4")
    };
    let root = Setting {
        keep: keep(Expect::AnyOf(vec!["no".into(), "prohibit-password".into()])),
        ..set("PermitRootLogin", "prohibit-password")
    };
    let p = plan(
        &[info("a", &tries, &[]), info("b", &root, &[])],
        &facts,
        &Redactor::default(),
    )
    .unwrap();
    // Only the block lines that fail change, in place; the stricter global
    // values (2, no) and the passing block values (3, prohibit-password)
    // stay.
    assert_eq!(
        written(&p),
        [(
            CLOUD.to_string(),
            "Match User root\n\tPermitRootLogin prohibit-password\n\tMaxAuthTries 4\n\
             Match Address 10.0.0.0/8\n  MaxAuthTries 3 # lab\n  PermitRootLogin prohibit-password\n"
                .to_string()
        )]
    );
    // Without `keep`, the step's value everywhere.
    let p = plan(
        &[info("a", &set("MaxAuthTries", "4"), &[])],
        &facts,
        &Redactor::default(),
    )
    .unwrap();
    let files = written(&p);
    assert!(
        files.contains(&(MAIN.to_string(), main.replace("MaxAuthTries 2", "MaxAuthTries 4"))),
        "{files:?}"
    );
    assert!(
        files[1].1.contains("\tMaxAuthTries 4\n") && files[1].1.contains("  MaxAuthTries 4 # lab\n"),
        "{files:?}"
    );
}

#[test]
fn with_keep_an_unset_sshd_key_whose_default_passes_is_not_written() {
    use crate::conftext::sshd_defaults::{for_release, Release};
    let main = "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n";
    let mut facts = sshd_facts(&[(MAIN, main)], &[("/etc/ssh/sshd_config.d/*.conf", &[])]);
    let x11 = Setting {
        keep: Some(Expect::Equals("no".into())),
        ..set("X11Forwarding", "no")
    };
    let sessions = Setting {
        keep: Some(Expect::Max("10".into())),
        ..set("MaxSessions", "10")
    };
    let tries = Setting {
        keep: Some(Expect::Max("4".into())),
        ..set("MaxAuthTries", "4")
    };
    let steps = [info("x", &x11, &[]), info("s", &sessions, &[]), info("t", &tries, &[])];
    let release = |minor| Some(Release { major: 9, minor });
    // Debian 12's 9.2: X11Forwarding no and MaxSessions 10 are the
    // defaults and pass; MaxAuthTries 6 does not and is written.
    facts.sshd_defaults = Some(for_release(release(2)));
    let p = plan(&steps, &facts, &Redactor::default()).unwrap();
    assert_eq!(written(&p), [(MAIN.to_string(), format!("{main}MaxAuthTries 4\n"))]);
    // A release without a table of its own (or none gathered, or no
    // `keep:`): the default is not assumed, every key is written.
    for defaults in [Some(for_release(release(1))), None] {
        facts.sshd_defaults = defaults;
        let p = plan(&steps, &facts, &Redactor::default()).unwrap();
        assert_eq!(
            written(&p),
            [(
                MAIN.to_string(),
                format!("{main}X11Forwarding no\nMaxSessions 10\nMaxAuthTries 4\n")
            )]
        );
    }
    facts.sshd_defaults = Some(for_release(release(2)));
    let p = plan(
        &[info("x", &set("X11Forwarding", "no"), &[])],
        &facts,
        &Redactor::default(),
    )
    .unwrap();
    assert_eq!(written(&p), [(MAIN.to_string(), format!("{main}X11Forwarding no\n"))]);
}
