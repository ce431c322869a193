//! A service's state: `p_svc` asks systemd where it runs, else the SysV
//! scripts and runlevel links, and [`decode`] reads its `key=value` answer.

use super::{Budget, FactKind};
use crate::collect::ProbeOutput;
use crate::shell::{quote, QuoteError};

/// Whether a service runs and starts at boot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    pub name: String,
}

impl FactKind for Service {
    const SHELL: &'static str = r#"p_svc() {
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
"#;

    fn call(&self, index: usize) -> Result<String, QuoteError> {
        Ok(format!("p_svc {index} {}", quote(&self.name)?))
    }

    fn budget(&self) -> Budget {
        Budget::SMALL
    }
}

/// Which init system answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    Systemd,
    Sysv,
}

/// A service's state; `None` where the host could not tell (not found).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceFacts {
    pub init: Init,
    pub running: Option<bool>,
    pub enabled: Option<bool>,
}

/// Why a service answer gave no [`ServiceFacts`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("the host's answer could not be read")]
    Unreadable,
    #[error("cannot tell the init system")]
    UnknownInit,
}

/// Reads `p_svc`'s answer.
pub fn decode(output: &ProbeOutput) -> Result<ServiceFacts, ServiceError> {
    let ProbeOutput::Ok(bytes) = output else {
        return Err(ServiceError::Unreadable);
    };
    let kv: Vec<(String, String)> = String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.trim().to_string())))
        .collect();
    let lookup = |key: &str| kv.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("");
    match lookup("init") {
        "systemd" => {
            let active = lookup("active");
            let enabled = match lookup("enabled") {
                "enabled" | "enabled-runtime" | "static" | "alias" | "indirect" | "generated" => Some(true),
                "disabled" | "masked" | "masked-runtime" => Some(false),
                _ => None,
            };
            Ok(ServiceFacts {
                init: Init::Systemd,
                running: (!active.is_empty()).then(|| active == "active"),
                enabled,
            })
        }
        "sysv" => Ok(ServiceFacts {
            init: Init::Sysv,
            running: match lookup("status") {
                "none" => None,
                "0" => Some(true),
                _ => Some(false),
            },
            enabled: match lookup("enabled") {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
        }),
        _ => Err(ServiceError::UnknownInit),
    }
}
