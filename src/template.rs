//! Rendering of expectations and templates with minijinja.
//!
//! Undefined variables are errors: an expectation that silently renders to
//! an empty string would pass or fail for the wrong reason.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};

/// Variables visible to templates: YAML values keyed by name.
pub type Vars = BTreeMap<String, serde_yaml::Value>;

#[derive(Debug, thiserror::Error)]
#[error("template error: {0}")]
pub struct TemplateError(String);

pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Config files care about their final newline; keep it.
        env.set_keep_trailing_newline(true);
        Renderer { env }
    }
}

impl Renderer {
    /// A renderer for shell command lines (playbook `command`, `unless`,
    /// `validate`, handlers): every `{{ value }}` is written as one quoted
    /// shell word, so a var holding `; rm -rf /` or `$(…)` stays data.
    /// `{{ value | safe }}` opts out, for vars that are meant to be shell
    /// syntax (a list of flags).
    pub fn for_commands() -> Self {
        let mut renderer = Renderer::default();
        renderer.env.set_formatter(|out, _state, value| {
            let text = value.to_string();
            if value.is_safe() {
                return out.write_str(&text).map_err(minijinja::Error::from);
            }
            let quoted = crate::shell::quote(&text)
                .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string()))?;
            out.write_str(&quoted).map_err(minijinja::Error::from)
        });
        renderer
    }
}

impl Renderer {
    /// Renders `source` with `vars`. Text without `{{` or `{%` is returned
    /// as is, which keeps the common case cheap.
    pub fn render(&self, source: &str, vars: &Vars) -> Result<String, TemplateError> {
        if !source.contains("{{") && !source.contains("{%") && !source.contains("{#") {
            return Ok(source.to_string());
        }
        self.env
            .render_str(source, vars)
            .map_err(|e| TemplateError(describe(&e)))
    }

    /// The top-level variables `source` reads (static analysis: every
    /// branch counts, taken or not), so a caller can tell whether a render
    /// could carry a secret into its output, however filtered.
    pub fn referenced(&self, source: &str) -> Result<std::collections::HashSet<String>, TemplateError> {
        if !source.contains("{{") && !source.contains("{%") {
            return Ok(Default::default());
        }
        self.env
            .template_from_str(source)
            .map(|t| t.undeclared_variables(false))
            .map_err(|e| TemplateError(describe(&e)))
    }

    /// Checks syntax only, for `validate`.
    pub fn check_syntax(&self, source: &str) -> Result<(), TemplateError> {
        self.env
            .template_from_str(source)
            .map(|_| ())
            .map_err(|e| TemplateError(describe(&e)))
    }
}

fn describe(e: &minijinja::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), serde_yaml::Value::String(v.to_string())))
            .collect()
    }

    #[test]
    fn renders_host_vars() {
        let r = Renderer::default();
        assert_eq!(
            r.render("server {{ ntp }}\n", &vars(&[("ntp", "192.0.2.1")])).unwrap(),
            "server 192.0.2.1\n"
        );
    }

    #[test]
    fn undefined_variable_is_an_error_not_empty() {
        let r = Renderer::default();
        let e = r.render("x{{ missing }}y", &vars(&[])).unwrap_err();
        assert!(e.to_string().contains("undefined"), "{e}");
    }

    #[test]
    fn command_values_are_quoted_words() {
        let r = Renderer::for_commands();
        let v = vars(&[("p", "/etc/x; touch /tmp/pwned $(id)")]);
        let line = r.render("test -f {{ p }}", &v).unwrap();
        assert_eq!(line, "test -f '/etc/x; touch /tmp/pwned $(id)'");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(r.render("printf %s {{ p }}", &v).unwrap())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "/etc/x; touch /tmp/pwned $(id)");
        assert_eq!(
            r.render("echo {{ p | safe }}", &v).unwrap(),
            "echo /etc/x; touch /tmp/pwned $(id)"
        );
    }

    #[test]
    fn plain_text_passes_through() {
        let r = Renderer::default();
        assert_eq!(r.render("no templates here", &vars(&[])).unwrap(), "no templates here");
    }
}
