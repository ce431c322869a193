//! sshd's `Include`, as sshd_config(5) and OpenSSH's `servconf.c` define
//! it, for `setting` rules and steps on an sshd server configuration.
//!
//! Which files: those whose name ends in `sshd_config`
//! ([`follows_includes`]) — the files read with the sshd dialect, minus
//! ssh_config (the client's `Include` has other rules: relative to `~/.ssh`,
//! and `Host` blocks).
//!
//! How sshd reads them, and so how [`resolve`] (and [`locate`], its global
//! value) does:
//!
//! * `Include PATTERN...` is processed in place: each pattern, made absolute
//!   by prefixing `/etc/ssh/` unless it starts with `/`, is expanded like
//!   glob(3) (in lexical order; no match is fine) and each file is read, at
//!   that point, before the rest of the including file. So with the keyword's
//!   first occurrence winning, a key set in a file included at the top of
//!   sshd_config beats the main file's own line, and a key the main file
//!   sets before its `Include` line beats the included one.
//! * A keyword's aliases are the keyword ([`super::sshd_keywords`]), and
//!   the keywords that add up (`Port`, `AllowUsers`, …) give all their
//!   lines' words.
//! * An `Include` inside a `Match` block includes conditional settings:
//!   they belong to that block. A `Match` inside an included file lasts to
//!   the end of that file only; the including file's state resumes after
//!   the `Include` line.
//! * `Match all` blocks apply to every connection and override the lines
//!   outside blocks, as `sshd -T` shows (for keywords allowed in `Match`;
//!   the others read them as global lines). Each conditional block that
//!   sets the key gets its own value ([`Effective`]).
//! * The whole tree is read: a block further down can change the answer,
//!   so a file or pattern that cannot be read is an error for every key.
//! * Includes nest up to 16 levels below the main file; deeper, sshd refuses
//!   to start, and so the value is an error here.
//!
//! The host expands the patterns and reads the files (`p_sshd` in the
//! collection script, bounded in files and names); the controller decides
//! from its own reading of each file which patterns sshd would expand and
//! in which order. The controller splits `Include` arguments as sshd's
//! `argv_split` does (quotes group words); a pattern the host cannot expand
//! as sshd would (one containing a blank, such as `"/etc/ssh/sp dir/*"`,
//! quotes that do not balance, `~`, the limits) is an error naming the
//! file and line, never a silent "not set" or a wrong value.

use std::borrow::Cow;

use super::setting::{entry, value_of_sshd, Entry, SettingDialect};
use super::sshd_keywords::{accumulates, allowed_in_match, global_only, last_wins, same_keyword};
use super::sshd_match::{self, Connection, CriteriaError};

/// Where sshd looks for relative `Include` patterns (its `SSHDIR`).
pub const SSHD_DIR: &str = "/etc/ssh";
/// sshd's `SERVCONF_MAX_DEPTH`: includes below the main file, at most.
pub const MAX_DEPTH: usize = 16;

/// Whether `setting` rules and steps on `path` follow `Include` as sshd
/// does: the file's name (after the last `/`) ends in `sshd_config`.
pub fn follows_includes(path: &str) -> bool {
    path.rsplit('/').next().unwrap_or(path).ends_with("sshd_config")
        && SettingDialect::for_path(path) == SettingDialect::Sshd
}

/// The files sshd would read for a configuration, as they are (or would
/// be) on the host. Its [`Source::Error`] says why a file or a pattern's
/// expansion is not known (the host could not read it, did not, …): the
/// source's own reasons, which this module only passes on.
pub trait Source {
    type Error: std::error::Error;
    /// A file's text, borrowed where it can be; `Ok(None)` when it does
    /// not exist.
    fn text(&self, path: &str) -> Result<Option<Cow<'_, str>>, Self::Error>;
    /// An absolute pattern's matches, in order.
    fn expand(&self, pattern: &str) -> Result<Vec<String>, Self::Error>;
}

/// Why an `Include` line's pattern cannot be expanded as sshd would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The line's quotes do not balance (`rest`: the line after `Include`).
    #[error("Include {rest}: its quotes do not balance (sshd refuses the line)")]
    Unbalanced { rest: String },
    #[error(
        "Include pattern {pattern:?} contains a blank: sshd reads it as one pattern, which rectify cannot expand on the host"
    )]
    Blank { pattern: String },
    #[error("Include {pattern}: patterns starting with ~ are not supported")]
    Tilde { pattern: String },
}

/// Why the effective value of a key cannot be known; `E` is the
/// [`Source`]'s reason a file or expansion is not available.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncludeError<E: std::error::Error> {
    /// A file the walk needs is not available.
    #[error(transparent)]
    Source(E),
    /// An included file does not exist (a match of a pattern that is gone).
    #[error("{file} is included but cannot be opened (a dangling link?)")]
    Dangling { file: String },
    #[error(
        "sshd configuration too complex to evaluate (more than {MAX_VISITED_LINES} lines or {} MiB read following Include, rectify's limit)",
        MAX_VISITED_BYTES / (1024 * 1024)
    )]
    TooComplex,
    #[error("{file}: Include nested more than {MAX_DEPTH} levels deep (sshd refuses such a configuration)")]
    TooDeep { file: String },
    /// A pattern of the `Include` at `file`:`line` (1-based).
    #[error("{file}:{line}: {error}")]
    Pattern {
        file: String,
        line: usize,
        error: PatternError,
    },
    /// A `Match` line (at `file`:`line`, 1-based) that cannot be judged for
    /// a connection.
    #[error("{file}:{line}: {error}")]
    Criteria {
        file: String,
        line: usize,
        error: CriteriaError,
    },
    /// A keyword sshd refuses inside a conditional `Match` block: sshd does
    /// not start with this configuration.
    #[error("{file}:{line}: {keyword} is not allowed within a Match block (sshd refuses this configuration)")]
    NotInMatch { file: String, line: usize, keyword: String },
    /// The expansion of a pattern of the `Include` at `file`:`line`.
    #[error("{file}:{line}: {error}")]
    Expand { file: String, line: usize, error: E },
}

/// What a walk found: where the effective value is, `None` when it is not
/// set, or why that cannot be known.
pub type Found<E> = Result<Option<Located>, IncludeError<E>>;

/// Where the effective value of a key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub file: String,
    /// 0-based, as counted by [`str::lines`].
    pub line: usize,
    pub value: String,
}

impl Located {
    /// `yes (from /etc/ssh/sshd_config.d/50-cloud-init.conf:1)` when the
    /// value comes from another file than `main`, else the value.
    pub fn describe(&self, main: &str) -> String {
        if self.file == main {
            self.value.clone()
        } else {
            format!("{} (from {}:{})", self.value, self.file, self.line + 1)
        }
    }
}

/// Most lines (plus one per file opened) one evaluation reads, however
/// often `Include` makes it read the same file: a configuration that needs
/// more is refused rather than walked for ever (a host can make the walk
/// exponential without a cycle: 50,000 `Include a.conf` lines, each
/// `a.conf` holding 50,000 `Include b.conf` lines).
pub const MAX_VISITED_LINES: usize = 100_000;
/// Most bytes one evaluation scans, counting each visit of a file.
pub const MAX_VISITED_BYTES: usize = 32 * 1024 * 1024;

/// The effective (global) occurrence of `key` in the configuration rooted at
/// `main`, following `Include` as sshd does: what `sshd -T` prints, see
/// [`Effective::global`]; `Ok(None)` when it is not set (or `main` does not
/// exist). `Err` when the answer depends on something that could not be
/// read, or when reading it would exceed [`MAX_VISITED_LINES`] or
/// [`MAX_VISITED_BYTES`].
pub fn locate<S: Source + ?Sized>(source: &S, main: &str, key: &str) -> Found<S::Error> {
    resolve(source, main, key).map(|e| e.global)
}

/// [`locate`], and the files that explain the value: those holding an
/// occurrence of `key` (in any block) and the files that include them, in
/// the order first found. A file the walk read without finding the key in
/// it (a private key matched by a mistaken `Include /etc/ssh/*`) is not
/// among them.
pub fn locate_reading<S: Source + ?Sized>(source: &S, main: &str, key: &str) -> (Found<S::Error>, Vec<String>) {
    let (effective, read) = resolve_reading(source, main, key);
    (effective.map(|e| e.global), read)
}

/// What sshd makes of `key` for every connection: the global value and
/// the value of each conditional `Match` block that sets it.
pub fn resolve<S: Source + ?Sized>(source: &S, main: &str, key: &str) -> Result<Effective, IncludeError<S::Error>> {
    resolve_reading(source, main, key).0
}

fn resolve_reading<S: Source + ?Sized>(
    source: &S,
    main: &str,
    key: &str,
) -> (Result<Effective, IncludeError<S::Error>>, Vec<String>) {
    let key = key.trim();
    let mut walk = Walk::new(source, key);
    if key.is_empty() {
        return (Ok(Effective::default()), walk.read);
    }
    let effective = walk
        .file(main, 0, None)
        .map(|()| effective(key, &walk.blocks, &walk.found));
    (effective, walk.read)
}

/// The key's value for every connection, as sshd 9.2 computes it (checked
/// with `sshd -T [-C …]`): the global value, then the lines of the `Match`
/// blocks a connection matches, taken as a whole, override it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effective {
    /// What `sshd -T` prints and what a connection no conditional block
    /// matches gets: the first occurrence in a `Match all` block when one
    /// sets the key (those blocks apply to every connection and override
    /// the lines outside blocks), else the first occurrence outside `Match`
    /// blocks. For keywords that add up ([`accumulates`]) the value is
    /// all those lines' words joined by one space, located at the first.
    /// A keyword not allowed in `Match` blocks reads `Match all` blocks as
    /// global lines, in file order, as sshd does.
    pub global: Option<Located>,
    /// Each conditional `Match` block that sets the key, in file order,
    /// with the value a connection matching that block (and no other
    /// conditional block) gets: the first occurrence (or, adding up, all
    /// lines) among that block's lines and the `Match all` blocks' lines.
    pub blocks: Vec<BlockValue>,
}

/// A conditional `Match` block and the value it gives its connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockValue {
    pub block: Block,
    pub value: Located,
}

/// A `Match` line: where it is and its criteria as written
/// (`User root`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub file: String,
    /// 0-based, as counted by [`str::lines`].
    pub line: usize,
    pub criteria: String,
    /// `Match all`: every connection.
    pub all: bool,
}

impl BlockValue {
    /// `yes (Match User root at /etc/ssh/sshd_config:40)`.
    pub fn describe(&self) -> String {
        format!(
            "{} (Match {} at {}:{})",
            self.value.value,
            self.block.criteria,
            self.block.file,
            self.block.line + 1
        )
    }
}

fn effective(key: &str, blocks: &[Block], found: &[(Option<usize>, Located)]) -> Effective {
    let fold = |pick: &dyn Fn(Option<usize>) -> bool| fold(key, found, pick);
    let is_all = |ctx: Option<usize>| ctx.is_some_and(|b| blocks[b].all);
    if !allowed_in_match(key) {
        return Effective {
            global: fold(&|ctx| ctx.is_none() || is_all(ctx)),
            blocks: Vec::new(),
        };
    }
    let global = fold(&is_all).or_else(|| fold(&|ctx| ctx.is_none()));
    let mut values = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        if block.all || !found.iter().any(|(ctx, _)| *ctx == Some(index)) {
            continue;
        }
        if let Some(value) = fold(&|ctx| ctx == Some(index) || is_all(ctx)) {
            values.push(BlockValue {
                block: block.clone(),
                value,
            });
        }
    }
    Effective { global, blocks: values }
}

/// The first of the occurrences `pick` keeps (by their block), the last
/// for the few keywords sshd lets a later line override ([`last_wins`]),
/// or for a keyword that adds up all their words, located at the first.
fn fold(key: &str, found: &[(Option<usize>, Located)], pick: &dyn Fn(Option<usize>) -> bool) -> Option<Located> {
    let mut hits = found.iter().filter(|(ctx, _)| pick(*ctx)).map(|(_, at)| at);
    if last_wins(key) {
        return hits.last().cloned();
    }
    let first = hits.next()?.clone();
    if !accumulates(key) {
        return Some(first);
    }
    let mut value = first.value.clone();
    for at in hits {
        if !at.value.is_empty() {
            value.push(' ');
            value.push_str(&at.value);
        }
    }
    Some(Located { value, ..first })
}

/// The value of `key` for one connection, as `sshd -T -C` prints it:
/// sshd re-reads the configuration for the connection with every line
/// outside the `Match` blocks it matches skipped, the first occurrence in
/// those blocks (in file order, `Match all` included; for keywords that add
/// up, all of them) overriding the global value. `Ok(None)`: not set.
/// A `Match` line whose criteria sshd refuses is an error, as is a `Group`
/// criterion of a block that sets the key (see [`super::sshd_match`]).
pub fn resolve_for<S: Source + ?Sized>(
    source: &S,
    main: &str,
    key: &str,
    conn: &Connection,
) -> Result<Option<Located>, IncludeError<S::Error>> {
    let key = key.trim();
    let mut walk = Walk::new(source, key);
    if key.is_empty() {
        return Ok(None);
    }
    walk.file(main, 0, None)?;
    let (blocks, found) = (&walk.blocks, &walk.found);
    if !allowed_in_match(key) {
        return Ok(effective(key, blocks, found).global);
    }
    let mut matching = Vec::with_capacity(blocks.len());
    for (index, block) in blocks.iter().enumerate() {
        let sets_key = found.iter().any(|(ctx, _)| *ctx == Some(index));
        let m = match sshd_match::matches(&block.criteria, conn) {
            Ok(m) => m,
            // A Group criterion only matters where the block sets the key.
            Err(CriteriaError::Group(_)) if !sets_key => false,
            Err(error) => {
                return Err(IncludeError::Criteria {
                    file: block.file.clone(),
                    line: block.line + 1,
                    error,
                })
            }
        };
        matching.push(m);
    }
    let in_matching = |ctx: Option<usize>| ctx.is_some_and(|b| matching[b]);
    Ok(fold(key, found, &in_matching).or_else(|| fold(key, found, &|ctx| ctx.is_none())))
}

struct Walk<'a, S: Source + ?Sized> {
    source: &'a S,
    key: &'a str,
    /// Lines read so far, plus one per file opened.
    lines: usize,
    bytes: usize,
    /// The files that hold an occurrence of the key, and those including
    /// them, in the order first found.
    read: Vec<String>,
    /// The file being read and those including it, outermost first.
    chain: Vec<String>,
    /// Every `Match` line met, in file order.
    blocks: Vec<Block>,
    /// Every occurrence of the key, in the order sshd reads them, with the
    /// block it is in (an index in `blocks`; `None` outside blocks).
    found: Vec<(Option<usize>, Located)>,
}

impl<'a, S: Source + ?Sized> Walk<'a, S> {
    /// A walk for `key` that has read nothing yet.
    fn new(source: &'a S, key: &'a str) -> Self {
        Walk {
            source,
            key,
            lines: 0,
            bytes: 0,
            read: Vec::new(),
            chain: Vec::new(),
            blocks: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Reads `file`, whose lines start in block `context` (that of the
    /// `Include` line that named it).
    fn file(&mut self, file: &str, depth: usize, context: Option<usize>) -> Result<(), IncludeError<S::Error>> {
        if depth > MAX_DEPTH {
            return Err(IncludeError::TooDeep { file: file.to_string() });
        }
        let source = self.source;
        let Some(text) = source.text(file).map_err(IncludeError::Source)? else {
            if depth == 0 {
                return Ok(());
            }
            return Err(IncludeError::Dangling { file: file.to_string() });
        };
        self.lines += 1;
        self.bytes += text.len();
        if self.lines > MAX_VISITED_LINES || self.bytes > MAX_VISITED_BYTES {
            return Err(IncludeError::TooComplex);
        }
        self.chain.push(file.to_string());
        let result = self.lines_of(file, &text, depth, context);
        self.chain.pop();
        result
    }

    fn lines_of(
        &mut self,
        file: &str,
        text: &str,
        depth: usize,
        context: Option<usize>,
    ) -> Result<(), IncludeError<S::Error>> {
        let source = self.source;
        let mut context = context;
        for (index, line) in text.lines().enumerate() {
            self.lines += 1;
            if self.lines > MAX_VISITED_LINES {
                return Err(IncludeError::TooComplex);
            }
            // The reader's own helper: the walk and the setting reader must
            // never disagree on what a comment or a keyword is.
            let Some(Entry { key: word, rest, .. }) = entry(line) else {
                continue;
            };
            if word.eq_ignore_ascii_case("Match") {
                // A Match in an included file lasts to the end of that file
                // only: `context` is this call's own.
                let criteria = value_of_sshd(rest);
                self.blocks.push(Block {
                    file: file.to_string(),
                    line: index,
                    all: criteria.eq_ignore_ascii_case("all"),
                    criteria,
                });
                context = Some(self.blocks.len() - 1);
                continue;
            }
            // sshd refuses to start when a conditional block sets a global
            // keyword (`Port` under `Match User x`); `Match all` reads it as
            // a global line.
            if global_only(word) && context.is_some_and(|b| !self.blocks[b].all) {
                return Err(IncludeError::NotInMatch {
                    file: file.to_string(),
                    line: index + 1,
                    keyword: word.to_string(),
                });
            }
            if same_keyword(word, self.key) {
                let value = if accumulates(self.key) {
                    list_words(rest)
                } else {
                    value_of_sshd(rest)
                };
                // This file and those that include it explain the value.
                for f in &self.chain {
                    if !self.read.contains(f) {
                        self.read.push(f.clone());
                    }
                }
                self.found.push((
                    context,
                    Located {
                        file: file.to_string(),
                        line: index,
                        value,
                    },
                ));
                continue;
            }
            if word.eq_ignore_ascii_case("Include") {
                for pattern in include_patterns(rest) {
                    let pattern = pattern.map_err(|error| IncludeError::Pattern {
                        file: file.to_string(),
                        line: index + 1,
                        error,
                    })?;
                    let matches = source.expand(&pattern).map_err(|error| IncludeError::Expand {
                        file: file.to_string(),
                        line: index + 1,
                        error,
                    })?;
                    for path in matches {
                        self.file(&path, depth + 1, context)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The words of a line of a keyword that adds up, split as sshd splits
/// arguments (quotes group, `#` at a word's start ends the line), joined
/// by one space; the line as read when its quotes do not balance.
fn list_words(rest: &str) -> String {
    let trimmed = rest.trim();
    let trimmed = trimmed.strip_prefix('=').map_or(trimmed, str::trim_start);
    match argv_split(trimmed) {
        Some(words) => words.join(" "),
        None => value_of_sshd(rest),
    }
}

/// An `Include` line's patterns, absolute: `rest` (the text after the
/// keyword) split into words as sshd's `argv_split` does. Words are
/// separated by blanks (space, tab); double or single quotes group
/// (`"a b"` is one word, `"a"'b'` is `ab`); a backslash escapes a quote, a
/// backslash or (outside quotes) a blank, and is kept before anything else;
/// a `#` where a word would start ends the line.
///
/// A pattern is refused (an `Err` naming it) when it starts with `~`, when
/// it contains a blank (sshd reads it as one pattern, but the host's
/// expansion splits it, so what it matches is unknown), and the whole line
/// is when its quotes do not balance (sshd refuses such a line).
pub fn include_patterns(rest: &str) -> Vec<Result<String, PatternError>> {
    let rest = rest.trim();
    let rest = rest.strip_prefix('=').map_or(rest, str::trim_start);
    let Some(words) = argv_split(rest) else {
        return vec![Err(PatternError::Unbalanced { rest: rest.to_string() })];
    };
    words
        .into_iter()
        .map(|w| {
            if w.contains(char::is_whitespace) {
                Err(PatternError::Blank { pattern: w })
            } else if w.starts_with('/') {
                Ok(w)
            } else if w.starts_with('~') {
                Err(PatternError::Tilde { pattern: w })
            } else {
                Ok(format!("{SSHD_DIR}/{w}"))
            }
        })
        .collect()
}

/// OpenSSH's `argv_split(s, .., terminate_on_comment = 1)`; `None` when
/// the quotes do not balance.
fn argv_split(s: &str) -> Option<Vec<String>> {
    let blank = |c: char| c == ' ' || c == '\t';
    let mut words = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|&c| blank(c)).is_some() {}
        match chars.peek() {
            None | Some('#') => return Some(words),
            Some(_) => {}
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek().copied() {
                    Some(n) if n == '\'' || n == '"' || n == '\\' || (quote.is_none() && n == ' ') => {
                        word.push(n);
                        chars.next();
                    }
                    _ => word.push(c),
                },
                _ if quote.is_none() && blank(c) => break,
                '"' | '\'' if quote.is_none() => quote = Some(c),
                _ if quote == Some(c) => quote = None,
                _ => word.push(c),
            }
        }
        if quote.is_some() {
            return None;
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// No expansion was given for a pattern.
    #[derive(Debug, thiserror::Error)]
    #[error("{0} not expanded")]
    struct NotExpanded(String);

    /// A configuration given as its files and the pattern expansions the
    /// host reported.
    #[derive(Default)]
    struct Files {
        text: BTreeMap<String, String>,
        globs: BTreeMap<String, Vec<String>>,
    }

    impl Files {
        fn file(mut self, path: &str, text: &str) -> Self {
            self.text.insert(path.into(), text.into());
            self
        }
        fn glob(mut self, pattern: &str, matches: &[&str]) -> Self {
            self.globs
                .insert(pattern.into(), matches.iter().map(|m| m.to_string()).collect());
            self
        }
    }

    impl Source for Files {
        type Error = NotExpanded;
        fn text(&self, path: &str) -> Result<Option<Cow<'_, str>>, NotExpanded> {
            Ok(self.text.get(path).map(|t| Cow::Borrowed(t.as_str())))
        }
        fn expand(&self, pattern: &str) -> Result<Vec<String>, NotExpanded> {
            self.globs
                .get(pattern)
                .cloned()
                .ok_or_else(|| NotExpanded(pattern.to_string()))
        }
    }

    const MAIN: &str = "/etc/ssh/sshd_config";
    const DROPINS: &str = "/etc/ssh/sshd_config.d/*.conf";
    const CLOUD: &str = "/etc/ssh/sshd_config.d/50-cloud-init.conf";

    fn at(file: &str, line: usize, value: &str) -> Option<Located> {
        Some(Located {
            file: file.into(),
            line,
            value: value.into(),
        })
    }

    #[test]
    fn a_drop_in_included_first_wins_over_the_main_file() {
        let files = Files::default()
            .file(
                MAIN,
                "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n",
            )
            .file(CLOUD, "PasswordAuthentication yes\n")
            .glob(DROPINS, &[CLOUD]);
        let found = locate(&files, MAIN, "passwordauthentication").unwrap();
        assert_eq!(found, at(CLOUD, 0, "yes"));
        assert_eq!(
            found.unwrap().describe(MAIN),
            "yes (from /etc/ssh/sshd_config.d/50-cloud-init.conf:1)"
        );
        // Keys the drop-in does not set come from the main file.
        let port = locate(
            &files.file(MAIN, "Include sshd_config.d/*.conf\nPort 22\n"),
            MAIN,
            "Port",
        )
        .unwrap();
        assert_eq!(port.clone(), at(MAIN, 1, "22"));
        assert_eq!(port.unwrap().describe(MAIN), "22");
    }

    #[test]
    fn a_later_max_startups_line_overrides_an_earlier_one() {
        // sshd -T of 9.2 prints `maxstartups 20:30:60` for these files.
        let files = Files::default()
            .file(MAIN, "Include /etc/ssh/sshd_config.d/*.conf\nMaxStartups 20:30:60\n")
            .file(CLOUD, "MaxStartups 10\nLoginGraceTime 30\n")
            .glob(DROPINS, &[CLOUD]);
        assert_eq!(locate(&files, MAIN, "maxstartups").unwrap(), at(MAIN, 1, "20:30:60"));
        assert_eq!(locate(&files, MAIN, "LoginGraceTime").unwrap(), at(CLOUD, 1, "30"));
    }

    #[test]
    fn the_main_file_wins_when_it_sets_the_key_before_the_include() {
        let files = Files::default()
            .file(
                MAIN,
                "PasswordAuthentication no\nInclude /etc/ssh/sshd_config.d/*.conf\n",
            )
            .file(CLOUD, "PasswordAuthentication yes\n")
            .glob(DROPINS, &[CLOUD]);
        assert_eq!(
            locate(&files, MAIN, "PasswordAuthentication").unwrap(),
            at(MAIN, 0, "no")
        );
    }

    #[test]
    fn relative_patterns_are_under_etc_ssh_and_forms_of_the_line() {
        for line in [
            "Include sshd_config.d/*.conf",
            "include   sshd_config.d/*.conf   # drop-ins",
            "INCLUDE=sshd_config.d/*.conf",
            "  Include = \"sshd_config.d/*.conf\"",
            "Include /nonexistent/* sshd_config.d/*.conf\r",
        ] {
            let files = Files::default()
                .file(MAIN, &format!("{line}\nX11Forwarding no\n"))
                .file(CLOUD, "X11Forwarding yes\n")
                .glob(DROPINS, &[CLOUD])
                .glob("/nonexistent/*", &[]);
            assert_eq!(
                locate(&files, MAIN, "X11Forwarding").unwrap(),
                at(CLOUD, 0, "yes"),
                "{line}"
            );
        }
        assert!(include_patterns(" ~/x")[0].is_err());
    }

    #[test]
    fn nested_includes_are_followed_in_place() {
        let files = Files::default()
            .file(MAIN, "Include /a/first.conf\nInclude /a/second.conf\nMaxAuthTries 6\n")
            .file("/a/first.conf", "Include /a/deeper/*.conf\nLogLevel INFO\n")
            .file("/a/deeper/x.conf", "PermitRootLogin no\n")
            .file(
                "/a/second.conf",
                "PermitRootLogin yes\nLogLevel DEBUG\nMaxAuthTries 3\n",
            )
            .glob("/a/first.conf", &["/a/first.conf"])
            .glob("/a/second.conf", &["/a/second.conf"])
            .glob("/a/deeper/*.conf", &["/a/deeper/x.conf"]);
        assert_eq!(
            locate(&files, MAIN, "PermitRootLogin").unwrap(),
            at("/a/deeper/x.conf", 0, "no")
        );
        assert_eq!(
            locate(&files, MAIN, "LogLevel").unwrap(),
            at("/a/first.conf", 1, "INFO")
        );
        assert_eq!(
            locate(&files, MAIN, "MaxAuthTries").unwrap(),
            at("/a/second.conf", 2, "3")
        );
        assert_eq!(locate(&files, MAIN, "Banner").unwrap(), None);
    }

    #[test]
    fn an_include_inside_a_match_block_is_not_the_global_value() {
        let files = Files::default()
            .file(
                MAIN,
                "Match User alice\n  Include /etc/ssh/alice.conf\nMatch all\nPasswordAuthentication no\n",
            )
            .file("/etc/ssh/alice.conf", "PasswordAuthentication yes\n")
            .glob("/etc/ssh/alice.conf", &["/etc/ssh/alice.conf"]);
        // After `Match all`, settings are global again, as in `sshd -T`.
        assert_eq!(
            locate(&files, MAIN, "PasswordAuthentication").unwrap(),
            at(MAIN, 3, "no")
        );
        // And so is an Include there.
        let global = files.file(
            MAIN,
            "Match User alice\n  Include /etc/ssh/alice.conf\nmatch ALL # global\nInclude /etc/ssh/alice.conf\n",
        );
        assert_eq!(
            locate(&global, MAIN, "PasswordAuthentication").unwrap(),
            at("/etc/ssh/alice.conf", 0, "yes")
        );
        let files = global.file(
            MAIN,
            "PasswordAuthentication no\nMatch User alice\n  Include /etc/ssh/alice.conf\n",
        );
        assert_eq!(
            locate(&files, MAIN, "PasswordAuthentication").unwrap(),
            at(MAIN, 0, "no")
        );
    }

    #[test]
    fn a_match_block_in_an_included_file_ends_with_that_file() {
        let files = Files::default()
            .file(MAIN, "Include /etc/ssh/sshd_config.d/*.conf\nX11Forwarding no\n")
            .file(CLOUD, "Match User bob\n  X11Forwarding yes\n")
            .glob(DROPINS, &[CLOUD]);
        assert_eq!(locate(&files, MAIN, "X11Forwarding").unwrap(), at(MAIN, 1, "no"));
    }

    #[test]
    fn matches_are_read_in_the_order_the_host_expanded_them() {
        let (a, b) = ("/etc/ssh/sshd_config.d/10-a.conf", "/etc/ssh/sshd_config.d/20-b.conf");
        let files = Files::default()
            .file(MAIN, "Include sshd_config.d/*.conf\n")
            .file(a, "LogLevel INFO\n")
            .file(b, "LogLevel DEBUG\n")
            .glob(DROPINS, &[a, b]);
        assert_eq!(locate(&files, MAIN, "LogLevel").unwrap(), at(a, 0, "INFO"));
        let files = files.glob(DROPINS, &[b, a]);
        assert_eq!(locate(&files, MAIN, "LogLevel").unwrap(), at(b, 0, "DEBUG"));
    }

    /// A chain main → 1 → 2 → … → `levels`, the key set only in the last.
    fn chain(levels: usize) -> Files {
        let mut files = Files::default().file(MAIN, "Include /c/1\n");
        for n in 1..=levels {
            let next = format!("/c/{}", n + 1);
            let text = if n == levels {
                "Banner /etc/issue.net\n".to_string()
            } else {
                format!("Include {next}\n")
            };
            files = files
                .file(&format!("/c/{n}"), &text)
                .glob(&format!("/c/{n}"), &[&format!("/c/{n}")]);
        }
        files
    }

    #[test]
    fn includes_nest_sixteen_levels_deep_and_no_deeper() {
        assert_eq!(
            locate(&chain(16), MAIN, "Banner").unwrap(),
            at("/c/16", 0, "/etc/issue.net")
        );
        let err = locate(&chain(17), MAIN, "Banner").unwrap_err().to_string();
        assert!(err.contains("/c/17") && err.contains("16 levels"), "{err}");
        // A file that includes itself is the same error, not a hang.
        let selfish = Files::default()
            .file(MAIN, "Include /etc/ssh/loop.conf\n")
            .file("/etc/ssh/loop.conf", "Include loop.conf\n")
            .glob("/etc/ssh/loop.conf", &["/etc/ssh/loop.conf"]);
        assert!(locate(&selfish, MAIN, "Port")
            .unwrap_err()
            .to_string()
            .contains("16 levels"));
    }

    #[test]
    fn what_could_not_be_read_is_an_error_not_a_missing_key() {
        // No expansion reported for the pattern.
        let files = Files::default().file(MAIN, "Include /x/*.conf\nPort 22\n");
        assert!(locate(&files, MAIN, "Port")
            .unwrap_err()
            .to_string()
            .contains("/x/*.conf"));
        // A match whose file is gone.
        let files = files.glob("/x/*.conf", &["/x/a.conf"]);
        let err = locate(&files, MAIN, "Port").unwrap_err().to_string();
        assert!(err.contains("/x/a.conf"), "{err}");
        // No match at all is fine, as in sshd.
        let files = Files::default()
            .file(MAIN, "Include /x/*.conf\nPort 22\n")
            .glob("/x/*.conf", &[]);
        assert_eq!(locate(&files, MAIN, "Port").unwrap(), at(MAIN, 1, "22"));
        // The main file missing: not set.
        assert_eq!(locate(&Files::default(), MAIN, "Port").unwrap(), None);
    }

    #[test]
    fn a_hostile_fan_out_of_includes_is_an_error_not_a_stall() {
        // 50,000 × 50,000 visits of b.conf, no cycle, well under the size
        // limits: without a budget this does not finish.
        let (a, b) = ("/etc/ssh/a.conf", "/etc/ssh/b.conf");
        let main = "Include /etc/ssh/a.conf\n".repeat(50_000);
        let inner = "Include /etc/ssh/b.conf\n".repeat(50_000);
        let files = Files::default()
            .file(MAIN, &main)
            .file(a, &inner)
            .file(b, "# nothing\n")
            .glob(a, &[a])
            .glob(b, &[b]);
        let err = locate(&files, MAIN, "Banner").unwrap_err().to_string();
        assert!(err.contains("too complex to evaluate"), "{err}");
    }

    #[test]
    fn a_quoted_pattern_with_a_blank_is_an_error_naming_the_line() {
        // sshd reads one pattern, `/etc/ssh/sp dir/*.conf`; the host cannot
        // expand it (it splits on blanks), so the value is unknown: error.
        for line in [
            "Include \"/etc/ssh/sp dir/*.conf\"",
            "Include '/etc/ssh/sp dir/*.conf'",
            "Include /etc/ssh/sp\\ dir/*.conf",
            "Include /etc/ssh/sp\" \"dir/*.conf",
        ] {
            let files = Files::default()
                .file(MAIN, &format!("{line}\nPort 22\n"))
                .glob("/etc/ssh/sp", &[])
                .glob("/etc/ssh/dir/*.conf", &[])
                .glob("/etc/ssh/\\", &[]);
            let err = locate(&files, MAIN, "Port").unwrap_err().to_string();
            assert!(
                err.contains(&format!("{MAIN}:1")) && err.contains("sp dir"),
                "{line}: {err}"
            );
        }
        // Quotes that do not balance: sshd refuses the line.
        // Even for a key set before it: later lines could still add to
        // it or override it in a `Match` block.
        let files = Files::default()
            .file(MAIN, "Banner /b\nInclude \"/etc/ssh/x.conf\nPort 22\n")
            .glob("/etc/ssh/x.conf", &[]);
        for key in ["Banner", "Port", "LogLevel"] {
            let err = locate(&files, MAIN, key).unwrap_err().to_string();
            assert!(err.contains(&format!("{MAIN}:2")) && err.contains("quote"), "{err}");
        }
    }

    #[test]
    fn include_arguments_are_split_like_sshds_argv_split() {
        let ok = |s: &str| Ok(s.to_string());
        assert_eq!(
            include_patterns(" a /b \"c\"'d' e\\\"f # g"),
            vec![ok("/etc/ssh/a"), ok("/b"), ok("/etc/ssh/cd"), ok("/etc/ssh/e\"f")]
        );
        // `#` starts a comment only where a word would start.
        assert_eq!(
            include_patterns("a#b \"#c\""),
            vec![ok("/etc/ssh/a#b"), ok("/etc/ssh/#c")]
        );
        assert_eq!(include_patterns("= /x\r"), vec![ok("/x")]);
        assert!(include_patterns(" 'c d'")[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("c d"));
        assert!(include_patterns(" \"c")[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("quote"));
    }

    #[test]
    fn without_includes_the_walk_reads_a_file_as_the_setting_reader_does() {
        use crate::conftext::setting::locate_setting;
        let text = ";Port 1\n# Port 2\n;X 1\nMatch User x\n  Y 3\nmatch all # g\n  port=4\nX 2\r\nMatch y\nY 1\n";
        for key in ["Port", ";Port", "X", ";X", "Match", "Y", "#", ";"] {
            let files = Files::default().file(MAIN, text);
            let walked = locate(&files, MAIN, key).unwrap().map(|f| (f.line, f.value));
            assert_eq!(walked, locate_setting(text, key, SettingDialect::Sshd), "{key}");
        }
    }

    #[test]
    fn one_connection_as_sshd_t_c_shows_it() {
        // Checked with `sshd -T -f FILE -C user=…,host=h,addr=…` (9.2).
        let text = "PasswordAuthentication yes\nAllowUsers g1\nMatch User bob\n  PasswordAuthentication no\n  \
                    AllowUsers b1\nMatch Address 10.0.0.0/8,!10.1.2.3\n  X11Forwarding yes\n  AllowUsers a1\n\
                    Match All\n  X11Forwarding no\nMatch Group wheel\n  MaxAuthTries 2\n";
        let files = Files::default().file(MAIN, text);
        let conn = |user: &str, addr: &str| Connection {
            user: Some(user.into()),
            host: Some("h".into()),
            addr: Some(addr.parse().unwrap()),
            ..Connection::default()
        };
        let value = |key: &str, c: &Connection| resolve_for(&files, MAIN, key, c).unwrap().map(|l| l.value);
        let (bob, al, al_out) = (conn("bob", "10.1.1.1"), conn("al", "10.1.2.3"), conn("al", "10.1.1.1"));
        assert_eq!(value("PasswordAuthentication", &bob).as_deref(), Some("no"));
        assert_eq!(value("PasswordAuthentication", &al).as_deref(), Some("yes"));
        assert_eq!(value("AllowUsers", &bob).as_deref(), Some("b1 a1"));
        assert_eq!(value("AllowUsers", &al).as_deref(), Some("g1"));
        assert_eq!(value("X11Forwarding", &al_out).as_deref(), Some("yes"));
        assert_eq!(value("X11Forwarding", &al).as_deref(), Some("no"));
        // The Group block sets MaxAuthTries: unknown here, an error.
        assert!(matches!(
            resolve_for(&files, MAIN, "MaxAuthTries", &bob),
            Err(IncludeError::Criteria { line: 11, .. })
        ));
        // sshd refuses `Port` under a conditional block, not under `Match all`.
        let bad = Files::default().file(MAIN, "Match all\n Port 1\nMatch User x\n  Port 2222\n");
        let err = resolve(&bad, MAIN, "PasswordAuthentication").unwrap_err();
        assert!(matches!(err, IncludeError::NotInMatch { line: 4, .. }), "{err}");
    }

    #[test]
    fn aliases_lists_and_match_blocks_as_sshd_t_shows_them() {
        let files = Files::default()
            .file(
                MAIN,
                "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication yes\nPort 22\n\
                 PasswordAuthentication no\nMatch User root\n  PasswordAuthentication yes\n  \
                 passwordauthentication no\n  AllowUsers root\nMatch Address 10.0.0.0/8\n  \
                 PasswordAuthentication no\n",
            )
            .file(
                CLOUD,
                "ChallengeResponseAuthentication=no\nport 2222\nAllowUsers a  \"b\"\nMatch all\n  AllowUsers c\n",
            )
            .glob(DROPINS, &[CLOUD]);
        // First spelling wins, whichever alias it is.
        let kbd = resolve(&files, MAIN, "KbdInteractiveAuthentication").unwrap();
        assert_eq!(kbd.global, at(CLOUD, 0, "no"));
        assert!(kbd.blocks.is_empty());
        // Lines add up, in the order sshd reads them.
        assert_eq!(locate(&files, MAIN, "Port").unwrap(), at(CLOUD, 1, "2222 22"));
        // `Match all` overrides the global list; a conditional block's
        // connections get its lines and the `Match all` ones.
        let users = resolve(&files, MAIN, "AllowUsers").unwrap();
        assert_eq!(users.global, at(CLOUD, 4, "c"));
        assert_eq!(users.blocks.len(), 1);
        assert_eq!(
            users.blocks[0].value,
            Located {
                file: CLOUD.into(),
                line: 4,
                value: "c root".into()
            }
        );
        // Each conditional block, first occurrence within it.
        let password = resolve(&files, MAIN, "PasswordAuthentication").unwrap();
        assert_eq!(password.global, at(MAIN, 3, "no"));
        let described: Vec<String> = password.blocks.iter().map(BlockValue::describe).collect();
        assert_eq!(
            described,
            [
                "yes (Match User root at /etc/ssh/sshd_config:5)",
                "no (Match Address 10.0.0.0/8 at /etc/ssh/sshd_config:9)"
            ]
        );
    }

    #[test]
    fn match_all_overrides_global_lines_for_keywords_allowed_in_match() {
        let files = Files::default().file(
            MAIN,
            "PermitRootLogin no\nPort 1\nMatch all\nPermitRootLogin yes\nPort 2\n",
        );
        assert_eq!(locate(&files, MAIN, "PermitRootLogin").unwrap(), at(MAIN, 3, "yes"));
        // Port may not be in a Match block: sshd reads the line globally.
        assert_eq!(locate(&files, MAIN, "Port").unwrap(), at(MAIN, 1, "1 2"));
    }

    #[test]
    fn which_files_follow_includes() {
        assert!(follows_includes("/etc/ssh/sshd_config"));
        assert!(follows_includes("/tmp/test_sshd_config"));
        assert!(!follows_includes("/etc/ssh/ssh_config"));
        assert!(!follows_includes("/etc/ssh/sshd_config.d/50-cloud-init.conf"));
        assert!(!follows_includes("/etc/ssh/sshd_config.bak"));
    }
}
