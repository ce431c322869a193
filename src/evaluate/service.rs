//! The `service` subject: whether a service runs and starts at boot, as
//! `p_svc` found it, and what `rectify capture` keeps of that.

use super::EvalError;
use super::Verdict;
use crate::baseline::ServiceState;
use crate::collect::facts::service;
use crate::collect::facts::service::{Init, ServiceError};
use crate::collect::Probe;
use crate::collect::ProbeOutput;
use serde_yaml::{Mapping, Value};

/// The service's state.
pub(super) fn probe(name: &str) -> Probe {
    service::Service { name: name.to_string() }.into()
}

pub(super) fn verdict(name: &str, want: ServiceState, output: &ProbeOutput) -> Result<Verdict, EvalError> {
    let facts = service::decode(output)?;
    let (running, enabled) = (facts.running, facts.enabled);
    let (pass, actual) = match want {
        ServiceState::Running => (running == Some(true), running_text(running)),
        ServiceState::Stopped => (running != Some(true), running_text(running)),
        ServiceState::Enabled => (enabled == Some(true), enabled_text(enabled)),
        ServiceState::Disabled => (enabled != Some(true), enabled_text(enabled)),
    };
    let want = match want {
        ServiceState::Running => "running",
        ServiceState::Stopped => "stopped",
        ServiceState::Enabled => "enabled",
        ServiceState::Disabled => "disabled",
    };
    let mut v = Verdict::compared(pass, want.into(), Some(actual.into()));
    if running.is_none() && enabled.is_none() {
        v.message = Some(format!("service {name} not found"));
    }
    Ok(v)
}

fn running_text(r: Option<bool>) -> &'static str {
    match r {
        Some(true) => "running",
        Some(false) => "stopped",
        None => "not found",
    }
}

fn enabled_text(e: Option<bool>) -> &'static str {
    match e {
        Some(true) => "enabled",
        Some(false) => "disabled",
        None => "not found",
    }
}

/// What `rectify capture` keeps of a service: its state now, of the kind
/// (running or enabled) the rule checked.
pub(super) fn capture(name: &str, state: ServiceState, output: &ProbeOutput) -> Result<Mapping, EvalError> {
    let mut m = Mapping::new();
    let mut put = |k: &str, v: Value| {
        m.insert(Value::String(k.into()), v);
    };
    let facts = match service::decode(output) {
        Ok(facts) if facts.init == Init::Sysv && facts.running.is_none() => None,
        Ok(facts) => Some(facts),
        Err(ServiceError::UnknownInit) => None,
        Err(e @ ServiceError::Unreadable) => return Err(e.into()),
    };
    let Some(facts) = facts else {
        return Err(EvalError::ServiceNotFound(name.to_string()));
    };
    let (running, enabled) = (facts.running == Some(true), facts.enabled == Some(true));
    put("service", name.into());
    let now = match state {
        ServiceState::Running | ServiceState::Stopped => {
            if running {
                "running"
            } else {
                "stopped"
            }
        }
        ServiceState::Enabled | ServiceState::Disabled => {
            if enabled {
                "enabled"
            } else {
                "disabled"
            }
        }
    };
    put("state", now.into());
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::RuleStatus;

    fn ok(text: &str) -> ProbeOutput {
        ProbeOutput::Ok(text.as_bytes().to_vec())
    }

    #[test]
    fn services_under_systemd_and_sysv() {
        let systemd = ok("init=systemd\nactive=active\nenabled=enabled\n");
        assert_eq!(
            verdict("x", ServiceState::Running, &systemd).unwrap().status,
            RuleStatus::Pass
        );
        assert_eq!(
            verdict("x", ServiceState::Disabled, &systemd).unwrap().status,
            RuleStatus::Fail
        );
        let masked = ok("init=systemd\nactive=inactive\nenabled=masked\n");
        assert_eq!(
            verdict("x", ServiceState::Stopped, &masked).unwrap().status,
            RuleStatus::Pass
        );
        assert_eq!(
            verdict("x", ServiceState::Disabled, &masked).unwrap().status,
            RuleStatus::Pass
        );
        let sysv_stopped = ok("init=sysv\nstatus=3\nenabled=yes\n");
        let v = verdict("x", ServiceState::Running, &sysv_stopped).unwrap();
        assert_eq!((v.status, v.actual.as_deref()), (RuleStatus::Fail, Some("stopped")));
        let missing = ok("init=sysv\nstatus=none\nenabled=none\n");
        let v = verdict("x", ServiceState::Running, &missing).unwrap();
        assert_eq!(v.actual.as_deref(), Some("not found"));
        assert!(v.message.unwrap().contains("not found"));
    }
}
