//! Comparing an actual value with an `expect:` after rendering it for the host.

use super::EvalError;
use crate::baseline::Expect;
use crate::conftext::sshd_values::max_startups;
use crate::template::{Renderer, Vars};

/// The outcome of one comparison, with the expectation as people read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub pass: bool,
    pub expected: String,
    /// Why it failed when the value alone does not say (not a number…).
    pub note: Option<String>,
}

/// How values compare: sshd treats `yes`/`YES` alike and accepts time
/// suffixes (`1m`); other files compare exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueSemantics {
    Exact,
    Sshd,
    /// sshd's `MaxStartups start:rate:full`: values and bounds are read as
    /// sshd reads them (`10` is `10:30:10`) and compared as triples, a
    /// bound holding for each of the three numbers.
    MaxStartups,
}

/// The value sshd reads `v` as: `without-password` is the old name of
/// `PermitRootLogin prohibit-password` (servconf.c maps both to one
/// setting; `sshd -T` on 9.2 prints whichever was written).
fn sshd_value(v: &str) -> &str {
    if v.eq_ignore_ascii_case("without-password") {
        "prohibit-password"
    } else {
        v
    }
}

pub fn compare(
    expect: &Expect,
    actual: Option<&str>,
    renderer: &Renderer,
    vars: &Vars,
    semantics: ValueSemantics,
) -> Result<Comparison, EvalError> {
    let render = |s: &str| renderer.render(s, vars).map_err(EvalError::from);
    let eq = |a: &str, b: &str| match semantics {
        ValueSemantics::Exact => a == b,
        ValueSemantics::Sshd => sshd_value(a).eq_ignore_ascii_case(sshd_value(b)),
        ValueSemantics::MaxStartups => match (max_startups(a), max_startups(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a.trim() == b.trim(),
        },
    };
    let ok = |pass: bool, expected: String| {
        Ok(Comparison {
            pass,
            expected,
            note: None,
        })
    };
    match expect {
        Expect::Equals(want) => {
            let want = render(want)?;
            ok(actual.is_some_and(|a| eq(a, &want)), want)
        }
        Expect::AnyOf(options) => {
            let options: Vec<String> = options.iter().map(|o| render(o)).collect::<Result<_, _>>()?;
            let pass = actual.is_some_and(|a| options.iter().any(|o| eq(a, o)));
            ok(pass, format!("one of [{}]", options.join(", ")))
        }
        Expect::Regex(pattern) => {
            let pattern = render(pattern)?;
            let re = regex::Regex::new(&pattern).map_err(|source| EvalError::ExpectRegex {
                pattern: pattern.clone(),
                source,
            })?;
            ok(
                actual.is_some_and(|a| re.is_match(a)),
                format!("matches regex {pattern}"),
            )
        }
        Expect::Not(unwanted) => {
            let unwanted = render(unwanted)?;
            if actual.is_none() && semantics == ValueSemantics::Sshd {
                return Ok(unset_sshd(format!("not {unwanted}")));
            }
            ok(!actual.is_some_and(|a| eq(a, &unwanted)), format!("not {unwanted}"))
        }
        Expect::Min(_) | Expect::Max(_) | Expect::Range { .. } if semantics == ValueSemantics::MaxStartups => {
            let (min, max) = match expect {
                Expect::Min(b) => (Some(render(b)?), None),
                Expect::Max(b) => (None, Some(render(b)?)),
                Expect::Range { min, max } => (Some(render(min)?), Some(render(max)?)),
                _ => unreachable!("a bound form"),
            };
            triple_bounds(min.as_deref(), max.as_deref(), actual)
        }
        Expect::Min(bound) => bounds(Some(&render(bound)?), None, actual, semantics),
        Expect::Max(bound) => bounds(None, Some(&render(bound)?), actual, semantics),
        Expect::Range { min, max } => bounds(Some(&render(min)?), Some(&render(max)?), actual, semantics),
        Expect::Contains(want) | Expect::SubsetOf(want) | Expect::NoneOf(want) => {
            let want: Vec<String> = want.iter().map(|w| render(w)).collect::<Result<_, _>>()?;
            Ok(words(expect, &want, actual, semantics))
        }
    }
}

/// `not` or `none_of` on an sshd keyword set nowhere: sshd then uses its
/// compiled-in default (its `MACs` default has `hmac-sha1`), which the file
/// does not show, so the rule fails rather than passing on a value nobody
/// read; set the key explicitly.
fn unset_sshd(expected: String) -> Comparison {
    Comparison {
        pass: false,
        expected,
        note: Some("not set: sshd uses its built-in default, which the file does not show".to_string()),
    }
}

/// `min`, `max` or both, inclusive.
fn bounds(
    min: Option<&str>,
    max: Option<&str>,
    actual: Option<&str>,
    semantics: ValueSemantics,
) -> Result<Comparison, EvalError> {
    let limit = |text: &str| parse_number(text, semantics).ok_or_else(|| EvalError::ExpectBound(text.to_string()));
    let (low, high) = (min.map(limit).transpose()?, max.map(limit).transpose()?);
    let expected = match (min, max) {
        (Some(a), Some(b)) => format!(">= {a}, <= {b}"),
        (Some(a), None) => format!(">= {a}"),
        (None, Some(b)) => format!("<= {b}"),
        (None, None) => unreachable!("a bound is given"),
    };
    let Some(actual) = actual else {
        return Ok(Comparison {
            pass: false,
            expected,
            note: None,
        });
    };
    match parse_number(actual, semantics) {
        Some(value) => Ok(Comparison {
            pass: low.is_none_or(|l| value >= l) && high.is_none_or(|h| value <= h),
            expected,
            note: None,
        }),
        None => Ok(Comparison {
            pass: false,
            expected,
            note: Some(format!("{actual:?} is not a number")),
        }),
    }
}

/// `min`/`max` on `MaxStartups`: each of the three numbers within the
/// bound's, both read as sshd reads a value.
fn triple_bounds(min: Option<&str>, max: Option<&str>, actual: Option<&str>) -> Result<Comparison, EvalError> {
    let limit = |text: &str| max_startups(text).ok_or_else(|| EvalError::ExpectBound(text.to_string()));
    let (low, high) = (min.map(limit).transpose()?, max.map(limit).transpose()?);
    let show = |t: [u64; 3]| format!("{}:{}:{}", t[0], t[1], t[2]);
    let expected = match (low, high) {
        (Some(a), Some(b)) => format!(">= {}, <= {} (each number)", show(a), show(b)),
        (Some(a), None) => format!(">= {} (each number)", show(a)),
        (None, Some(b)) => format!("<= {} (each number)", show(b)),
        (None, None) => unreachable!("a bound is given"),
    };
    let Some(actual) = actual else {
        return Ok(Comparison {
            pass: false,
            expected,
            note: None,
        });
    };
    let Some(value) = max_startups(actual) else {
        return Ok(Comparison {
            pass: false,
            expected,
            note: Some(format!("{actual:?} is not a MaxStartups value (start:rate:full)")),
        });
    };
    let within = (0..3).all(|i| low.is_none_or(|l| value[i] >= l[i]) && high.is_none_or(|h| value[i] <= h[i]));
    Ok(Comparison {
        pass: within,
        expected,
        note: (!within).then(|| format!("{actual} is {}", show(value))),
    })
}

/// The list forms: the value split into words at blanks and commas, each
/// compared exactly (user names and algorithm names are case-sensitive).
fn words(expect: &Expect, want: &[String], actual: Option<&str>, semantics: ValueSemantics) -> Comparison {
    let list = format!("[{}]", want.join(", "));
    let expected = match expect {
        Expect::Contains(_) => format!("contains {list}"),
        Expect::SubsetOf(_) => format!("only words from {list}"),
        _ => format!("none of {list}"),
    };
    let done = |pass: bool, note: Option<String>| Comparison {
        pass,
        expected: expected.clone(),
        note,
    };
    let Some(actual) = actual else {
        if semantics == ValueSemantics::Sshd {
            return unset_sshd(expected);
        }
        // Unset holds no word: like `not`, only `none_of` passes.
        return done(matches!(expect, Expect::NoneOf(_)), None);
    };
    // sshd: `Ciphers +x`, `-x` or `^x` edit the compiled-in default list;
    // the sshd subjects resolve them before comparing (conftext::sshd_values),
    // so one still here is a list rectify could not resolve.
    if semantics == ValueSemantics::Sshd && actual.trim_start().starts_with(['+', '-', '^']) {
        return done(
            false,
            Some(format!(
                "{actual:?} changes sshd's default list, which rectify cannot see; write the whole list"
            )),
        );
    }
    let have: Vec<&str> = actual
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let (bad, what): (Vec<&str>, &str) = match expect {
        Expect::Contains(_) => (
            want.iter().map(String::as_str).filter(|w| !have.contains(w)).collect(),
            "missing",
        ),
        Expect::SubsetOf(_) => (
            have.iter().copied().filter(|h| !want.iter().any(|w| w == h)).collect(),
            "not allowed",
        ),
        _ => (
            have.iter().copied().filter(|h| want.iter().any(|w| w == h)).collect(),
            "present",
        ),
    };
    if bad.is_empty() {
        done(true, None)
    } else {
        done(false, Some(format!("{what}: {}", bad.join(", "))))
    }
}

/// A number, or for sshd a time like `1m30s` in seconds.
fn parse_number(text: &str, semantics: ValueSemantics) -> Option<f64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<f64>() {
        return n.is_finite().then_some(n);
    }
    if semantics == ValueSemantics::Sshd {
        return sshd_seconds(text).map(|s| s as f64);
    }
    None
}

/// sshd_config(5) TIME FORMATS: `90`, `1m30s`, `2h`, `1w`.
fn sshd_seconds(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        digits.clear();
    }
    if !digits.is_empty() {
        total = total.checked_add(digits.parse().ok()?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(expect: Expect, actual: Option<&str>, sem: ValueSemantics) -> Comparison {
        let mut vars = Vars::new();
        vars.insert("limit".into(), serde_yaml::Value::Number(4.into()));
        compare(&expect, actual, &Renderer::default(), &vars, sem).unwrap()
    }

    #[test]
    fn each_form() {
        use ValueSemantics::*;
        assert!(cmp(Expect::Equals("no".into()), Some("no"), Exact).pass);
        assert!(!cmp(Expect::Equals("no".into()), Some("No"), Exact).pass);
        assert!(cmp(Expect::Equals("no".into()), Some("No"), Sshd).pass);
        assert!(
            cmp(
                Expect::Equals("prohibit-password".into()),
                Some("without-password"),
                Sshd
            )
            .pass
        );
        assert!(cmp(Expect::Not("without-password".into()), Some("yes"), Sshd).pass);
        assert!(!cmp(Expect::Not("without-password".into()), Some("prohibit-password"), Sshd).pass);
        assert!(
            !cmp(
                Expect::Equals("prohibit-password".into()),
                Some("without-password"),
                Exact
            )
            .pass
        );
        assert!(!cmp(Expect::Equals("no".into()), None, Exact).pass);
        assert!(cmp(Expect::AnyOf(vec!["a".into(), "b".into()]), Some("b"), Exact).pass);
        assert!(cmp(Expect::Regex("^9\\.".into()), Some("9.2"), Exact).pass);
        assert!(cmp(Expect::Not("yes".into()), None, Exact).pass);
        assert!(!cmp(Expect::Not("yes".into()), Some("yes"), Exact).pass);
        assert!(cmp(Expect::Max("{{ limit }}".into()), Some("4"), Exact).pass);
        assert!(!cmp(Expect::Max("{{ limit }}".into()), Some("6"), Exact).pass);
        assert!(cmp(Expect::Min("1".into()), Some("300"), Exact).pass);
        assert!(cmp(Expect::Max("60".into()), Some("1m"), Sshd).pass);
        assert!(!cmp(Expect::Max("60".into()), Some("2m"), Sshd).pass);
        let c = cmp(Expect::Max("60".into()), Some("lots"), Exact);
        assert!(!c.pass && c.note.is_some());
        assert_eq!(
            cmp(Expect::Max("{{ limit }}".into()), Some("1"), Exact).expected,
            "<= 4"
        );
    }

    #[test]
    fn ranges() {
        use ValueSemantics::*;
        let r = |min: &str, max: &str| Expect::Range {
            min: min.into(),
            max: max.into(),
        };
        // LoginGraceTime: 0 means no limit at all, which `max` alone passed.
        assert!(!cmp(r("1", "60"), Some("0"), Sshd).pass);
        assert!(cmp(r("1", "60"), Some("60"), Sshd).pass);
        assert!(cmp(r("1", "60"), Some("1"), Sshd).pass);
        // sshd's time units: 1m is 60 seconds, 1m1s is 61.
        assert!(cmp(r("1", "60"), Some("1m"), Sshd).pass);
        assert!(cmp(r("1", "60"), Some("30S"), Sshd).pass);
        assert!(!cmp(r("1", "60"), Some("1m1s"), Sshd).pass);
        assert!(!cmp(r("1", "60"), Some("2m"), Sshd).pass);
        // Outside sshd a unit is not a number.
        let c = cmp(r("1", "60"), Some("1m"), Exact);
        assert!(!c.pass && c.note.is_some());
        assert!(!cmp(r("1", "60"), None, Sshd).pass);
        assert_eq!(cmp(r("1", "{{ limit }}"), Some("3"), Exact).expected, ">= 1, <= 4");
        assert!(!cmp(r("1", "{{ limit }}"), Some("5"), Exact).pass);
    }

    #[test]
    fn lists() {
        use ValueSemantics::*;
        let v = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let ciphers = Some("chacha20-poly1305@openssh.com,aes256-gcm@openssh.com");
        assert!(cmp(Expect::Contains(v(&["aes256-gcm@openssh.com"])), ciphers, Sshd).pass);
        let c = cmp(Expect::Contains(v(&["alice", "bob"])), Some("root alice"), Sshd);
        assert_eq!((c.pass, c.note.as_deref()), (false, Some("missing: bob")));
        assert!(cmp(Expect::Contains(v(&["alice"])), Some("root  alice"), Exact).pass);
        // Names are case-sensitive, even in sshd.
        assert!(!cmp(Expect::Contains(v(&["alice"])), Some("Alice"), Sshd).pass);
        assert!(!cmp(Expect::Contains(v(&["alice"])), None, Sshd).pass);

        let aead = v(&[
            "chacha20-poly1305@openssh.com",
            "aes256-gcm@openssh.com",
            "aes128-gcm@openssh.com",
        ]);
        assert!(cmp(Expect::SubsetOf(aead.clone()), ciphers, Sshd).pass);
        let c = cmp(
            Expect::SubsetOf(aead.clone()),
            Some("aes128-cbc,aes256-gcm@openssh.com"),
            Sshd,
        );
        assert_eq!((c.pass, c.note.as_deref()), (false, Some("not allowed: aes128-cbc")));
        assert!(!cmp(Expect::SubsetOf(aead), None, Sshd).pass);

        let cbc = v(&["aes128-cbc", "3des-cbc"]);
        assert!(cmp(Expect::NoneOf(cbc.clone()), ciphers, Sshd).pass);
        // Unset in an sshd file: sshd's own default list, unseen, fails;
        // elsewhere a missing value holds none of the words.
        let c = cmp(Expect::NoneOf(cbc.clone()), None, Sshd);
        assert!(!c.pass && c.note.unwrap().contains("built-in default"));
        assert!(cmp(Expect::NoneOf(cbc.clone()), None, Exact).pass);
        assert!(!cmp(Expect::Not("yes".into()), None, Sshd).pass);
        assert!(cmp(Expect::Not("yes".into()), None, Exact).pass);
        let c = cmp(Expect::NoneOf(cbc.clone()), Some("3des-cbc, aes128-cbc"), Sshd);
        assert_eq!(
            (c.pass, c.note.as_deref()),
            (false, Some("present: 3des-cbc, aes128-cbc"))
        );
        // `+aes128-cbc` adds to a default list rectify cannot see.
        let c = cmp(Expect::NoneOf(cbc.clone()), Some("+aes128-ctr"), Sshd);
        assert!(!c.pass && c.note.unwrap().contains("default list"));
        // In other files a leading `-` is just part of a word.
        assert!(cmp(Expect::NoneOf(cbc), Some("-x"), Exact).pass);
        assert_eq!(
            cmp(Expect::Contains(v(&["{{ limit }}"])), Some("4 5"), Exact).expected,
            "contains [4]"
        );
    }

    #[test]
    fn max_startups_triples() {
        use ValueSemantics::MaxStartups as M;
        // `MaxStartups 10` is 10:30:10 to sshd.
        assert!(cmp(Expect::Equals("10:30:10".into()), Some("10"), M).pass);
        assert!(!cmp(Expect::Equals("10:30:100".into()), Some("10"), M).pass);
        let max = || Expect::Max("10:30:60".into());
        assert!(cmp(max(), Some("10:30:60"), M).pass);
        assert!(cmp(max(), Some("5:20:40"), M).pass);
        assert!(cmp(max(), Some("10"), M).pass);
        // Default 10:30:100: the third number is over.
        let c = cmp(max(), Some("10:30:100"), M);
        assert!(!c.pass && c.note.as_deref() == Some("10:30:100 is 10:30:100"), "{c:?}");
        assert!(!cmp(max(), Some("20:30:60"), M).pass);
        assert!(!cmp(max(), Some("10:50:60"), M).pass);
        assert_eq!(cmp(max(), Some("1"), M).expected, "<= 10:30:60 (each number)");
        let c = cmp(max(), Some("lots"), M);
        assert!(!c.pass && c.note.is_some());
        assert!(!cmp(max(), None, M).pass);
        let range = Expect::Range {
            min: "1:10:10".into(),
            max: "10:30:60".into(),
        };
        assert!(cmp(range.clone(), Some("5:30:50"), M).pass);
        assert!(!cmp(range, Some("5:5:50"), M).pass);
        // A single number as a bound is read the way sshd reads it.
        assert!(cmp(Expect::Max("60".into()), Some("10:30:60"), M).pass);
        assert!(compare(
            &Expect::Max("10:30".into()),
            Some("10"),
            &Renderer::default(),
            &Vars::new(),
            M
        )
        .is_err());
    }

    #[test]
    fn undefined_vars_are_errors() {
        let r = compare(
            &Expect::Equals("{{ nope }}".into()),
            Some("x"),
            &Renderer::default(),
            &Vars::new(),
            ValueSemantics::Exact,
        );
        assert!(r.is_err());
    }

    #[test]
    fn sshd_times() {
        assert_eq!(sshd_seconds("1m30s"), Some(90));
        assert_eq!(sshd_seconds("2h"), Some(7200));
        assert_eq!(sshd_seconds("x"), None);
        assert_eq!(sshd_seconds("99999999999999999999w"), None);
    }
}
