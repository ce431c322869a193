//! sysctl.d(5) / sysctl.conf(5) text as procps `sysctl --system` reads it
//! (procps-ng 4.0): which files it loads and in which order
//! ([`load_order`]), what each line says ([`parse`]), and which
//! assignment of a key the next boot loads ([`persisted`]). Evaluation
//! (the `persisted` side of a `sysctl` rule) and planning (a `sysctl`
//! step's `persist:`) both use it, so they cannot disagree. Pure.

/// The drop-in directories, in procps' order: a file name seen in an
/// earlier one hides the same name in the later ones.
pub const DIRS: [&str; 5] = [
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];

/// Read after every drop-in (when it is a regular file).
pub const MAIN: &str = "/etc/sysctl.conf";

/// The path below `/proc/sys` of a key, as procps spells it: when the
/// first separator is `.`, dots and slashes swap (`net.ipv4.conf.eth0/1.x`
/// → `net/ipv4/conf/eth0.1/x`, VLAN interfaces); when it is `/`, the key
/// is already a path.
pub fn proc_rel(key: &str) -> String {
    match key.find(['.', '/']) {
        Some(i) if key.as_bytes()[i] == b'.' => key
            .chars()
            .map(|c| match c {
                '.' => '/',
                '/' => '.',
                c => c,
            })
            .collect(),
        _ => key.to_string(),
    }
}

/// The drop-in name of `path` when procps would load it from one of
/// [`DIRS`]: its directory's index and its file name.
fn dropin(path: &str) -> Option<(usize, &str)> {
    let (dir, name) = path.rsplit_once('/')?;
    let d = DIRS.iter().position(|d| *d == dir)?;
    (name.len() >= 5 && name.ends_with(".conf")).then_some((d, name))
}

/// The order in which `sysctl --system` reads `paths` (the files that
/// exist on the host), as indices into `paths`: drop-ins in [`DIRS`] whose
/// name ends in `.conf`, a name in an earlier directory hiding the same
/// name in later ones, sorted by name (bytes) across directories; then
/// [`MAIN`]. Other paths are not read at all.
pub fn load_order(paths: &[&str]) -> Vec<usize> {
    let mut chosen: Vec<(usize, &str, usize)> = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let Some((dir, name)) = dropin(path) else { continue };
        match chosen.iter_mut().find(|(_, n, _)| *n == name) {
            Some(seen) if seen.2 <= dir => {}
            Some(seen) => *seen = (i, name, dir),
            None => chosen.push((i, name, dir)),
        }
    }
    chosen.sort_by(|a, b| a.1.as_bytes().cmp(b.1.as_bytes()));
    let mut order: Vec<usize> = chosen.into_iter().map(|(i, _, _)| i).collect();
    order.extend(paths.iter().position(|p| *p == MAIN));
    order
}

/// What one line of a sysctl file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `key = value` (`-key = value`: failures ignored). `path` is the key
    /// below `/proc/sys` ([`proc_rel`]); a path with `*`, `?` or `[` is a
    /// glob over the keys that exist.
    Set { path: String, value: String },
    /// `-pattern` without `=`: keys a glob [`Entry::Set`] must not touch.
    Exclude { pattern: String },
}

/// C's `isspace` in the C locale, which procps strips with.
fn blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// The entries of a file with their 1-based line numbers. Like procps:
/// leading blanks skipped; lines starting with `#` or `;` are comments
/// (there are no comments after a value); the key is what precedes the
/// first `=`, a leading `-` dropped, trailing blanks trimmed; the value is
/// the rest, trimmed. A line without `=` is ignored unless it starts with
/// `-` (an exclusion).
pub fn parse(text: &str) -> Vec<(usize, Entry)> {
    let mut out = Vec::new();
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        // procps skips lines shorter than 2 bytes, newline included, and
        // keys shorter than 2 bytes once leading blanks are gone.
        if raw.len() < 2 {
            continue;
        }
        let line = raw.trim_start_matches(blank);
        if line.len() < 2 || line.starts_with(['#', ';']) {
            continue;
        }
        let entry = match line.split_once('=') {
            Some((key, value)) => {
                let key = key.strip_prefix('-').unwrap_or(key).trim_end_matches(blank);
                Entry::Set {
                    path: proc_rel(key),
                    value: value.trim_matches(blank).to_string(),
                }
            }
            None => match line.strip_prefix('-') {
                Some(key) => Entry::Exclude {
                    pattern: proc_rel(key.trim_end_matches(blank)),
                },
                None => continue,
            },
        };
        out.push((n + 1, entry));
    }
    out
}

/// The assignment of a key the next boot loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persisted {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// Blanks collapsed, as the kernel prints values.
    pub value: String,
}

/// Which assignment of `key` `sysctl --system` leaves in effect, given the
/// files in load order ([`load_order`]) with their text. procps writes
/// every explicit assignment in order, so the last one wins; a glob
/// assignment only reaches a key that no explicit assignment (before or
/// after it) and no exclusion names, and then the last such glob wins.
/// `None`: no file sets the key.
pub fn persisted<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>, key: &str) -> Option<Persisted> {
    let target = proc_rel(key);
    let mut explicit = None;
    let mut glob = None;
    let mut excluded = false;
    for (file, text) in files {
        for (line, entry) in parse(text) {
            match entry {
                Entry::Set { path, value } => {
                    let found = || Persisted {
                        file: file.to_string(),
                        line,
                        value: normalize(&value),
                    };
                    if path == target {
                        explicit = Some(found());
                    } else if is_glob(&path) && matches(&path, &target, true) {
                        glob = Some(found());
                    }
                }
                Entry::Exclude { pattern } => excluded |= matches(&pattern, &target, false),
            }
        }
    }
    explicit.or(if excluded { None } else { glob })
}

/// Blanks collapsed (`4096\t16384` → `4096 16384`), as values compare.
pub fn normalize(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// fnmatch(3): `*`, `?` and `[…]` (`!` or `^` negates, ranges). With
/// `path` (glob(3), which procps expands a glob key with) a wildcard
/// matches neither `/` nor a name's leading `.`; without it (procps'
/// `fnmatch(…, 0)` for exclusions) it matches anything.
fn matches(pattern: &str, name: &str, path: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_at(&p, &n, true, path)
}

fn match_at(p: &[char], n: &[char], start: bool, path: bool) -> bool {
    // Whether a wildcard may not stand for n[i]: a `/`, or the leading `.`
    // of a path component (`start`: n[0] begins one).
    let hidden = |i: usize| path && (n[i] == '/' || (n[i] == '.' && if i == 0 { start } else { n[i - 1] == '/' }));
    let next = |i: usize| n[i] == '/';
    let Some(&first) = p.first() else { return n.is_empty() };
    match first {
        '*' => (0..=n.len())
            .take_while(|&k| k == 0 || !hidden(k - 1))
            .any(|k| match_at(&p[1..], &n[k..], if k == 0 { start } else { next(k - 1) }, path)),
        '?' => !n.is_empty() && !hidden(0) && match_at(&p[1..], &n[1..], next(0), path),
        '[' => match bracket(&p[1..]) {
            Some((set, negated, used)) => {
                !n.is_empty()
                    && !hidden(0)
                    && (set.iter().any(|&(lo, hi)| lo <= n[0] && n[0] <= hi) != negated)
                    && match_at(&p[1 + used..], &n[1..], next(0), path)
            }
            None => n.first() == Some(&'[') && match_at(&p[1..], &n[1..], false, path),
        },
        c => n.first() == Some(&c) && match_at(&p[1..], &n[1..], next(0), path),
    }
}

/// A bracket expression: its ranges (inclusive), whether negated, and how
/// many pattern characters it took with its `]`.
type Bracket = (Vec<(char, char)>, bool, usize);

/// The bracket expression after a `[`; `None` when unclosed.
fn bracket(p: &[char]) -> Option<Bracket> {
    let mut i = 0;
    let negated = matches!(p.first(), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut set = Vec::new();
    let mut first = true;
    while i < p.len() {
        let c = p[i];
        if c == ']' && !first {
            return Some((set, negated, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            set.push((c, p[i + 2]));
            i += 3;
        } else {
            set.push((c, c));
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_proc_paths_as_procps_spells_them() {
        assert_eq!(proc_rel("net.ipv4.ip_forward"), "net/ipv4/ip_forward");
        assert_eq!(proc_rel("net/ipv4/ip_forward"), "net/ipv4/ip_forward");
        assert_eq!(
            proc_rel("net.ipv4.conf.eth0/1.rp_filter"),
            "net/ipv4/conf/eth0.1/rp_filter"
        );
        assert_eq!(
            proc_rel("net/ipv4/conf/eth0.1/rp_filter"),
            "net/ipv4/conf/eth0.1/rp_filter"
        );
        assert_eq!(proc_rel("kernel"), "kernel");
    }

    #[test]
    fn files_load_in_procps_order() {
        let paths = [
            "/etc/sysctl.conf",
            "/usr/lib/sysctl.d/50-pid-max.conf",
            "/lib/sysctl.d/50-pid-max.conf",
            "/usr/lib/sysctl.d/10-a.conf",
            "/run/sysctl.d/10-a.conf",
            "/etc/sysctl.d/99-sysctl.conf",
            "/etc/sysctl.d/README.sysctl",
            "/etc/sysctl.d/.conf",
            "/etc/sysctl.d/A.conf",
            "/etc/sysctl.d/nested/x.conf",
            "/usr/local/lib/sysctl.d/60-z.conf",
            "/run/sysctl.d/60-z.conf",
            "/etc/other/70.conf",
        ];
        let order: Vec<&str> = load_order(&paths).into_iter().map(|i| paths[i]).collect();
        assert_eq!(
            order,
            [
                "/etc/sysctl.d/.conf",
                "/run/sysctl.d/10-a.conf",
                "/usr/lib/sysctl.d/50-pid-max.conf",
                "/run/sysctl.d/60-z.conf",
                "/etc/sysctl.d/99-sysctl.conf",
                "/etc/sysctl.d/A.conf",
                "/etc/sysctl.conf",
            ]
        );
    }

    #[test]
    fn lines_read_as_procps_reads_them() {
        let text = "# c\n; c\n  net.ipv4.ip_forward = 1 \r\nnet/ipv4/tcp_syncookies=0\n\
                    -net.ipv4.conf.all.rp_filter = \t2  3\nno equals sign\n-net.ipv4.conf.*.x\n\
                    a = b # not a comment\n- spaced = 1\n=\nx\n\nk =\n";
        let got = parse(text);
        let set = |path: &str, value: &str| Entry::Set {
            path: path.into(),
            value: value.into(),
        };
        assert_eq!(
            got,
            vec![
                (3, set("net/ipv4/ip_forward", "1")),
                (4, set("net/ipv4/tcp_syncookies", "0")),
                (5, set("net/ipv4/conf/all/rp_filter", "2  3")),
                (
                    7,
                    Entry::Exclude {
                        pattern: "net/ipv4/conf/*/x".into()
                    }
                ),
                (8, set("a", "b # not a comment")),
                (9, set(" spaced", "1")),
                (10, set("", "")),
                (13, set("k", "")),
            ]
        );
    }

    #[test]
    fn the_last_explicit_assignment_wins_and_globs_yield_to_it() {
        let files = [
            (
                "/etc/sysctl.d/10.conf",
                "net.ipv4.conf.*.send_redirects = 7\nnet.ipv4.ip_forward=1\n",
            ),
            (
                "/etc/sysctl.d/20.conf",
                "net.ipv4.conf.default.send_redirects = 5\n-net.ipv4.conf.lo.*\n",
            ),
            ("/etc/sysctl.conf", "net/ipv4/ip_forward = 0\n"),
        ];
        let at = |key: &str| persisted(files, key).map(|p| (p.file, p.line, p.value));
        assert_eq!(
            at("net.ipv4.ip_forward"),
            Some(("/etc/sysctl.conf".into(), 1, "0".into()))
        );
        // The explicit default wins although the glob comes first.
        assert_eq!(
            at("net.ipv4.conf.default.send_redirects"),
            Some(("/etc/sysctl.d/20.conf".into(), 1, "5".into()))
        );
        assert_eq!(
            at("net.ipv4.conf.all.send_redirects"),
            Some(("/etc/sysctl.d/10.conf".into(), 1, "7".into()))
        );
        assert_eq!(at("net.ipv4.conf.lo.send_redirects"), None);
        assert_eq!(at("kernel.ostype"), None);
    }

    #[test]
    fn globs_match_as_glob_and_fnmatch_do() {
        assert!(matches("net/*/x", "net/a/x", true));
        assert!(!matches("net/*/x", "net/a/b/x", true));
        assert!(matches("net/*/x", "net/a/b/x", false));
        assert!(!matches("net/*/x", "net/.a/x", true));
        assert!(matches("net/?/[a-c]", "net/1/b", true));
        assert!(!matches("net/?/[!a-c]", "net/1/b", true));
        assert!(matches("a[", "a[", true));
        assert!(matches("*", "", true));
    }
}
