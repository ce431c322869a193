//! Unified diffs (with `similar`) of file contents, as reports, plans and
//! the history show them.

/// A unified diff of a file's content, `None` meaning the file is absent.
pub fn unified(path: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> String {
    fn text(b: Option<&[u8]>) -> Option<Option<&str>> {
        b.map(|b| std::str::from_utf8(b).ok())
    }
    match (text(old), text(new)) {
        (Some(None), _) | (_, Some(None)) => {
            format!(
                "binary content differs ({} → {} bytes)\n",
                old.map_or(0, <[u8]>::len),
                new.map_or(0, <[u8]>::len)
            )
        }
        (a, b) => {
            let a = a.flatten().unwrap_or("");
            let b = b.flatten().unwrap_or("");
            let from = if old.is_some() {
                path.to_string()
            } else {
                "/dev/null".into()
            };
            let to = if new.is_some() {
                path.to_string()
            } else {
                "/dev/null".into()
            };
            similar::TextDiff::from_lines(a, b)
                .unified_diff()
                .context_radius(3)
                .header(&from, &to)
                .to_string()
        }
    }
}
