//! Which `Match` blocks apply to one connection, as OpenSSH 9.2's
//! `match_cfg_line` (servconf.c) decides for `sshd -T -C user=…,host=…,addr=…`:
//! criteria are `Keyword patterns` pairs, all of which must match; `All`
//! stands alone. A criterion whose connection field is not given does not
//! match (sshd's test mode does the same).
//!
//! * `User`, `RDomain`: a pattern list (`,`-separated, `*` and `?`
//!   wildcards, `!` negates: a negated pattern that matches makes the
//!   criterion fail), case-sensitive; `Host` the same, case-insensitive.
//! * `Address`, `LocalAddress`: `addr_match_list`: each entry a CIDR
//!   (`10.0.0.0/8`, an address alone) or, when it is not one, a wildcard
//!   pattern over the address text; `!` negates. A CIDR with bits set past
//!   its mask (`10.0.0.1/8`) makes sshd refuse the configuration.
//! * `LocalPort`: a port number. Without `lport` in the connection,
//!   `sshd -T -C` refuses to answer ("'Match LocalPort' in configuration
//!   but 'lport' not in connection test specification"), and so is an
//!   error here; a missing `laddr` or `rdomain` just does not match.
//! * `Group` needs the host's group database, which the controller does not
//!   have: evaluating it is an error naming it, never a guess.

use std::net::IpAddr;

/// One connection, the fields of `sshd -T -C`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    pub user: Option<String>,
    pub host: Option<String>,
    pub addr: Option<IpAddr>,
    pub laddr: Option<IpAddr>,
    pub lport: Option<u16>,
    pub rdomain: Option<String>,
}

/// Why a `Match` line cannot be judged for a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CriteriaError {
    #[error("unsupported Match attribute {0:?} (sshd refuses the line)")]
    Unknown(String),
    #[error("Match {0} without patterns (sshd refuses the line)")]
    Missing(String),
    #[error("Match All cannot be combined with other criteria (sshd refuses the line)")]
    AllNotAlone,
    #[error("invalid Match address argument {0:?} (sshd refuses the line)")]
    BadAddress(String),
    #[error("invalid Match LocalPort {0:?} (sshd refuses the line)")]
    BadPort(String),
    #[error("Match LocalPort needs `lport` in `match:` (sshd -T -C refuses to answer without it)")]
    NoLport,
    #[error("Match Group {0}: needs the host's group database, which rectify does not read for `match:`")]
    Group(String),
}

/// Whether the connection matches the `Match` line's criteria (the text
/// after `Match`).
pub fn matches(criteria: &str, conn: &Connection) -> Result<bool, CriteriaError> {
    let words: Vec<&str> = criteria.split_whitespace().collect();
    if words.len() == 1 && words[0].eq_ignore_ascii_case("all") {
        return Ok(true);
    }
    let mut result = true;
    let mut it = words.iter();
    while let Some(attr) = it.next() {
        let lower = attr.to_ascii_lowercase();
        if lower == "all" {
            return Err(CriteriaError::AllNotAlone);
        }
        let Some(arg) = it.next() else {
            return Err(CriteriaError::Missing((*attr).to_string()));
        };
        // Every criterion is checked, as sshd does, so a bad one is an error
        // even after one that fails.
        let ok = match lower.as_str() {
            "user" => conn.user.as_deref().is_some_and(|u| pattern_list(u, arg, false)),
            "host" => conn.host.as_deref().is_some_and(|h| pattern_list(h, arg, true)),
            "rdomain" => conn.rdomain.as_deref().is_some_and(|r| pattern_list(r, arg, false)),
            "address" => address_list(conn.addr, arg)?,
            "localaddress" => address_list(conn.laddr, arg)?,
            "localport" => {
                let port: u16 = arg
                    .parse()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| CriteriaError::BadPort((*arg).to_string()))?;
                conn.lport.ok_or(CriteriaError::NoLport)? == port
            }
            "group" => return Err(CriteriaError::Group((*arg).to_string())),
            _ => return Err(CriteriaError::Unknown((*attr).to_string())),
        };
        result &= ok;
    }
    Ok(result)
}

/// OpenSSH's `match_pattern_list`: a negated pattern that matches wins.
/// `lower`: compare case-insensitively (host names).
pub(super) fn pattern_list(s: &str, list: &str, lower: bool) -> bool {
    let s = if lower { s.to_ascii_lowercase() } else { s.to_string() };
    let mut found = false;
    for entry in list.split(',') {
        let (neg, pat) = entry.strip_prefix('!').map_or((false, entry), |p| (true, p));
        let pat = if lower {
            pat.to_ascii_lowercase()
        } else {
            pat.to_string()
        };
        if wildcard(s.as_bytes(), pat.as_bytes()) {
            if neg {
                return false;
            }
            found = true;
        }
    }
    found
}

/// OpenSSH's `match_pattern`: `*` any run, `?` one character.
fn wildcard(s: &[u8], p: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| wildcard(&s[i..], rest)),
        Some((b'?', rest)) => !s.is_empty() && wildcard(&s[1..], rest),
        Some((c, rest)) => s.first() == Some(c) && wildcard(&s[1..], rest),
    }
}

/// OpenSSH's `addr_match_list`, `Ok(true)` only for a positive match.
fn address_list(addr: Option<IpAddr>, list: &str) -> Result<bool, CriteriaError> {
    let bad = || CriteriaError::BadAddress(list.to_string());
    let text = addr.map(|a| a.to_string());
    let mut found = false;
    for entry in list.split(',') {
        let (neg, cp) = entry.strip_prefix('!').map_or((false, entry), |p| (true, p));
        if cp.is_empty() {
            return Err(bad());
        }
        let hit = match cidr(cp) {
            Cidr::Net(net, len) => {
                if !host_bits_clear(net, len) {
                    return Err(bad());
                }
                addr.is_some_and(|a| in_net(a, net, len))
            }
            Cidr::NotOne => text.as_deref().is_some_and(|t| wildcard(t.as_bytes(), cp.as_bytes())),
        };
        if hit {
            if neg {
                return Ok(false);
            }
            found = true;
        }
    }
    Ok(found)
}

enum Cidr {
    Net(IpAddr, u8),
    NotOne,
}

/// `addr_pton_cidr`: an address with an optional `/len` within its family.
fn cidr(s: &str) -> Cidr {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let Ok(ip) = a.parse::<IpAddr>() else {
        return Cidr::NotOne;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match len {
        None => Cidr::Net(ip, max),
        Some(l) => match l.parse::<u8>().map(|n| (n, l)) {
            Ok((n, l)) if n <= max && !l.starts_with('+') => Cidr::Net(ip, n),
            _ => Cidr::NotOne,
        },
    }
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    }
}

/// The top `len` bits of a `width`-bit address.
fn mask(len: u8, width: u8) -> u128 {
    let all = if width == 32 { u128::from(u32::MAX) } else { u128::MAX };
    let low = width - len;
    let low_bits = if low == 128 { u128::MAX } else { (1u128 << low) - 1 };
    all & !low_bits
}

fn host_bits_clear(net: IpAddr, len: u8) -> bool {
    let (n, w) = bits(net);
    n & !mask(len, w) == 0
}

fn in_net(addr: IpAddr, net: IpAddr, len: u8) -> bool {
    let ((a, wa), (n, wn)) = (bits(addr), bits(net));
    wa == wn && a & mask(len, wa) == n & mask(len, wn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(user: &str, addr: &str) -> Connection {
        Connection {
            user: Some(user.into()),
            host: Some("Client.Example.org".into()),
            addr: Some(addr.parse().unwrap()),
            lport: Some(22),
            ..Connection::default()
        }
    }

    #[test]
    fn criteria_as_sshd() {
        let c = conn("bob", "10.1.1.1");
        assert!(matches("all", &c).unwrap());
        assert!(matches("User bob", &c).unwrap());
        assert!(matches("user b*,!alice", &c).unwrap());
        assert!(!matches("User *,!bob", &c).unwrap());
        assert!(matches("Host *.example.ORG", &c).unwrap());
        assert!(matches("Address 10.0.0.0/8,!10.1.2.3", &c).unwrap());
        assert!(!matches("Address 10.0.0.0/8,!10.1.2.3", &conn("bob", "10.1.2.3")).unwrap());
        assert!(matches("Address 10.1.*", &c).unwrap());
        assert!(!matches("Address 192.168.0.0/16", &c).unwrap());
        assert!(matches("Address 0.0.0.0/0", &c).unwrap());
        assert!(!matches("Address ::/0", &c).unwrap());
        assert!(matches("User bob LocalPort 22", &c).unwrap());
        assert!(!matches("User bob LocalPort 2222", &c).unwrap());
        assert!(!matches("LocalAddress 10.0.0.0/8", &c).unwrap());
        assert!(!matches("RDomain x", &c).unwrap());
        assert_eq!(
            matches("Address 10.0.0.1/8", &c),
            Err(CriteriaError::BadAddress("10.0.0.1/8".into()))
        );
        assert!(matches("User", &c).is_err());
        assert!(matches("User bob All", &c).is_err());
        assert!(matches("Colour red", &c).is_err());
        assert!(matches("LocalPort x", &c).is_err());
        assert!(matches("Group wheel", &c).is_err());
        let no_port = Connection { lport: None, ..c };
        assert_eq!(matches("LocalPort 22", &no_port), Err(CriteriaError::NoLport));
    }

    #[test]
    fn masks() {
        assert!(in_net(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::".parse().unwrap(),
            32
        ));
        assert!(!host_bits_clear("10.0.0.1".parse().unwrap(), 8));
        assert!(host_bits_clear("10.0.0.1".parse().unwrap(), 32));
        assert!(host_bits_clear("::".parse().unwrap(), 0));
    }
}
