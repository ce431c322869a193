//! A sysctl value: read as a file below `/proc/sys` (a [`file::Read`], so
//! an audit and an apply reading the same key share one probe), with the
//! key rules every caller checks and the decoding of its value.

use super::file::{self, Read};
use crate::collect::{ProbeOutput, ProbeStatus};

/// Most bytes of one `/proc/sys` value read.
pub const MAX_VALUE: u64 = 64 * 1024;

/// Whether `key` may name a sysctl: non-empty ASCII letters, digits and
/// `._-/`, not starting with `.` and without `..`, so that
/// [`sysctl_path`] stays below `/proc/sys` and the key needs no quoting to
/// read as itself. The one check baselines, playbooks and rendered
/// playbook steps all use.
pub fn valid_sysctl_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('.')
        && !key.contains("..")
        && key.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
}

/// `/proc/sys` path of a sysctl key: `net.ipv4.ip_forward` →
/// `/proc/sys/net/ipv4/ip_forward`. Keys may use `/` as the separator too;
/// dots and slashes swap as procps swaps them
/// ([`crate::conftext::sysctl::proc_rel`]), so a key reads the file
/// `sysctl` itself would.
pub fn sysctl_path(key: &str) -> String {
    format!("/proc/sys/{}", crate::conftext::sysctl::proc_rel(key))
}

/// The probe reading `key`'s live value.
pub fn read(key: &str) -> Read {
    Read {
        path: sysctl_path(key),
        max: MAX_VALUE,
    }
}

/// The value as the kernel printed it; `None` when there is no such key.
pub fn decode(output: &ProbeOutput) -> Result<Option<String>, ProbeStatus> {
    Ok(file::decode(output)?.map(|bytes| String::from_utf8_lossy(bytes).into_owned()))
}

/// A value with its blanks collapsed (`4096\t16384` → `4096 16384`), as
/// values are compared.
pub fn normalize(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_keys() {
        for key in [
            "net.ipv4.ip_forward",
            "kernel/randomize_va_space",
            "net.ipv4.conf.eth-0.rp_filter",
            "a_b",
        ] {
            assert!(valid_sysctl_key(key), "{key}");
        }
        for key in ["", ".a", "a..b", "a/../b", "a b", "a;b", "a$b", "ä.b", "a\nb", "a\n"] {
            assert!(!valid_sysctl_key(key), "{key:?}");
        }
    }
}
