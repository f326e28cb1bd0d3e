//! `GET /`: a small page to upload an image and watch the sticks (inline CSS and script; it
//! talks to `/v1/classify` and `/healthz` only).

use super::Config;

const TEMPLATE: &str = include_str!("page.html");

/// The page for this server.
pub fn render(config: &Config) -> String {
    TEMPLATE
        .replace("{{GRAPH}}", &escape(&config.graph.name))
        .replace("{{CLASSES}}", &config.labels.len().to_string())
        .replace("{{SHA}}", &config.graph.sha256[..config.graph.sha256.len().min(16)])
        .replace("{{KEY_HIDDEN}}", if config.api_key.is_some() { "" } else { "hidden" })
}

/// Text made safe inside HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_escaped() {
        assert_eq!(super::escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
