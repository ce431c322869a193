//! Comparing an actual value with an `expect:` after rendering it for the host.

use super::EvalError;
use crate::baseline::Expect;
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
        ValueSemantics::Sshd => a.eq_ignore_ascii_case(b),
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
            ok(actual.is_some_and(|a| re.is_match(a)), format!("matches /{pattern}/"))
        }
        Expect::Not(unwanted) => {
            let unwanted = render(unwanted)?;
            ok(!actual.is_some_and(|a| eq(a, &unwanted)), format!("not {unwanted}"))
        }
        Expect::Min(bound) | Expect::Max(bound) => {
            let is_min = matches!(expect, Expect::Min(_));
            let bound_text = render(bound)?;
            let limit =
                parse_number(&bound_text, semantics).ok_or_else(|| EvalError::ExpectBound(bound_text.clone()))?;
            let expected = format!("{} {bound_text}", if is_min { ">=" } else { "<=" });
            let Some(actual) = actual else {
                return ok(false, expected);
            };
            match parse_number(actual, semantics) {
                Some(value) => ok(if is_min { value >= limit } else { value <= limit }, expected),
                None => Ok(Comparison {
                    pass: false,
                    expected,
                    note: Some(format!("{actual:?} is not a number")),
                }),
            }
        }
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
