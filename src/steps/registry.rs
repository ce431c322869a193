//! The machinery behind [`registry!`]: from the list of kinds a playbook
//! may name, the step keys serde accepts, the dispatch of each key to its
//! kind, and the check that turns a [`RawStep`] into a [`Step`].

use super::{check_kind, kind_owning, step_fields, takes_validate, RawStep, Step, StepSyntax, KIND_KEYS};
use crate::config_error::ConfigError;

/// Registers the kinds a playbook may name, in the order messages list
/// them: `module::Type` per line, `Type` implementing [`StepSyntax`].
macro_rules! registry {
    ($($module:ident :: $kind:ident),* $(,)?) => {
        /// The parsed values of every kind's keys in one step.
        #[derive(Default)]
        pub(crate) struct RawKinds {
            $($module: registry::Parsed<$module::$kind>,)*
        }

        /// The keys that name a kind, in registry order.
        const KIND_KEYS: &[&str] = &[$(<$module::$kind as StepSyntax>::KEY),*];

        /// Every key a step may have, in the order serde lists them.
        fn step_fields() -> &'static [&'static str] {
            static FIELDS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
                let mut fields = raw::COMMON.to_vec();
                $(
                    fields.push(<$module::$kind as StepSyntax>::KEY);
                    fields.extend_from_slice(<$module::$kind as StepSyntax>::EXTRA);
                )*
                fields
            });
            FIELDS.as_slice()
        }

        /// Reads the value of a kind's key; `Ok(true)` when it is set.
        fn read_kind_key<'de, A: MapAccess<'de>>(
            kinds: &mut RawKinds,
            key: &str,
            map: &mut A,
        ) -> Result<bool, A::Error> {
            $(
                if key == <$module::$kind as StepSyntax>::KEY {
                    kinds.$module.value = map.next_value()?;
                    return Ok(kinds.$module.value.is_some());
                }
                if <$module::$kind as StepSyntax>::EXTRA.contains(&key) {
                    return <$module::$kind as StepSyntax>::read_extra(&mut kinds.$module.extra, key, map);
                }
            )*
            map.next_value::<serde::de::IgnoredAny>().map(|_| false)
        }

        /// The kind key whose kind owns `extra`, and whether kind `kind`
        /// takes `validate:`.
        fn kind_owning(extra: &str) -> Option<&'static str> {
            $(
                if <$module::$kind as StepSyntax>::EXTRA.contains(&extra) {
                    return Some(<$module::$kind as StepSyntax>::KEY);
                }
            )*
            None
        }

        fn takes_validate(kind: &str) -> bool {
            $(
                if kind == <$module::$kind as StepSyntax>::KEY {
                    return <$module::$kind as StepSyntax>::TAKES_VALIDATE;
                }
            )*
            false
        }

        /// Checks the chosen kind's keys into its kind.
        fn check_kind(kinds: &RawKinds, chosen: &str, cx: &mut Check<'_>) -> Option<Box<dyn StepKind>> {
            $(
                if chosen == <$module::$kind as StepSyntax>::KEY {
                    let parsed = &kinds.$module;
                    let value = parsed.value.as_ref()?;
                    return <$module::$kind as StepSyntax>::check(value, &parsed.extra, cx)
                        .map(|k| Box::new(k) as Box<dyn StepKind>);
                }
            )*
            None
        }
    };
}

/// One kind's keys as read from a step.
pub(crate) struct Parsed<K: StepSyntax> {
    pub value: Option<K::Value>,
    pub extra: K::Extra,
}

impl<K: StepSyntax> Default for Parsed<K> {
    fn default() -> Self {
        Parsed {
            value: None,
            extra: K::Extra::default(),
        }
    }
}

/// Turns a step read from YAML into a [`Step`], or every problem found in
/// it. `handlers` are the playbook's handler names, by index.
pub(crate) fn build(raw: &RawStep, cx: &mut super::Check<'_>, handlers: &[&str]) -> Result<Step, Vec<ConfigError>> {
    let kinds: Vec<&str> = KIND_KEYS.iter().copied().filter(|k| raw.set.contains(k)).collect();
    if kinds.len() != 1 {
        let msg = if kinds.is_empty() {
            format!("needs exactly one of {}", KIND_KEYS.join(", "))
        } else {
            format!(
                "has {} kinds ({}); a step does one thing",
                kinds.len(),
                kinds.join(", ")
            )
        };
        return Err(vec![cx.error(kinds.first().copied().unwrap_or("name"), msg)]);
    }
    let chosen = kinds[0];

    for &field in step_fields() {
        let misplaced = if field == "validate" {
            raw.validate.is_some() && !takes_validate(chosen)
        } else {
            raw.set.contains(&field) && kind_owning(field).is_some_and(|owner| owner != chosen)
        };
        if misplaced {
            cx.push(field, format!("`{field}` does not apply to a `{chosen}` step"));
        }
    }

    let mut notify = Vec::new();
    for name in &raw.notify {
        match handlers.iter().position(|h| h == name) {
            Some(i) => {
                if !notify.contains(&i) {
                    notify.push(i)
                }
            }
            None => cx.push("notify", format!("unknown handler {name:?}")),
        }
    }
    if let Some(v) = &raw.validate {
        if !v.contains("{path}") {
            cx.push(
                "validate",
                "validate must name the candidate file as {path}, e.g. `sshd -t -f {path}`",
            );
        }
        cx.syntax("validate", v);
    }

    let kind = check_kind(&raw.kinds, chosen, cx);
    let errors = cx.take_errors();
    match kind {
        Some(kind) if errors.is_empty() => Ok(Step {
            name: raw.name.clone().unwrap_or_else(|| kind.default_name()),
            kind,
            notify,
            sensitive: raw.sensitive,
            validate: raw.validate.clone(),
            unsafe_writes: raw.unsafe_writes,
            at: cx.at(),
        }),
        _ => Err(errors),
    }
}
