//! Class names for a network's outputs, read from a text file — one reader with one rule for
//! every command, so an index never names the wrong class.
//!
//! The rule: one name per line, trimmed. A first line reading `classes` (any case) is a heading,
//! not a class (NCSDK's example apps wrote their label files so); a leading UTF-8 byte order
//! mark, as Windows editors write, is not part of the first name. Blank lines at the end are ignored;
//! a blank line elsewhere is an error, since dropping it would shift every later name and
//! keeping it would name a class "". The file must name exactly as many classes as the
//! network has outputs.

use std::path::Path;

use crate::blob::Blob;
use crate::error::{Error, Result};

/// The heading line NCSDK's label files start with.
const HEADING: &str = "classes";

/// The names of a network's classes, index by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    names: Vec<String>,
}

/// Largest label or truth file read (a million classes of 16 characters).
pub const MAX_LABEL_FILE: u64 = 16 << 20;

impl Labels {
    /// Reads a label file for a network with `classes` outputs; errors name the file and line.
    pub fn read(path: &Path, classes: usize) -> Result<Labels> {
        let text = crate::files::read_text_at_most(path, MAX_LABEL_FILE)
            .map_err(|source| Error::Io { path: path.to_owned(), source })?;
        Labels::parse(&text, classes).map_err(|message| Error::Labels { path: path.to_owned(), message })
    }

    /// Parses label text for a network with `classes` outputs; the error says what is wrong.
    pub fn parse(text: &str, classes: usize) -> Result<Labels, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines: Vec<(usize, &str)> = text.lines().map(str::trim).enumerate().collect();
        while lines.last().is_some_and(|(_, l)| l.is_empty()) {
            lines.pop();
        }
        let headed = lines.first().is_some_and(|(_, l)| l.eq_ignore_ascii_case(HEADING));
        if headed {
            lines.remove(0);
        }
        if let Some((n, _)) = lines.iter().find(|(_, l)| l.is_empty()) {
            return Err(format!("line {} is blank; every line up to the last names one class", n + 1));
        }
        if lines.len() != classes {
            let heading = if headed { " after the `classes` heading" } else { "" };
            let mut message = format!("{} labels{heading} for a network with {classes} classes", lines.len());
            // One line too many is most often a heading of another spelling ("Labels:", "# names").
            if !headed && lines.len() == classes + 1 {
                if let Some((_, first)) = lines.first() {
                    message.push_str(&format!(
                        "; one too many: does the first line `{first}` head the file rather than name a class? \
                         (remove it, or write `classes`)"
                    ));
                }
            }
            return Err(message);
        }
        Ok(Labels { names: lines.into_iter().map(|(_, l)| l.to_owned()).collect() })
    }

    /// The name of class `index`.
    pub fn get(&self, index: usize) -> Option<&str> {
        self.names.get(index).map(String::as_str)
    }

    /// Every name, in class order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True for a network without classes (never, for a parsed file of a real network).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The class a piece of text names: a label, or else a class index written as a number.
    pub fn class_of(&self, text: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|l| l == text)
            .or_else(|| text.parse::<usize>().ok().filter(|&i| i < self.names.len()))
    }
}

/// The classes a label file must name for a network: one per output value.
pub fn class_count(blob: &Blob) -> usize {
    blob.output_shape().iter().map(|&d| d as usize).product()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_classes_heading_and_trailing_blank_lines_are_not_classes() {
        let labels = Labels::parse("classes\ncat\n dog \n\n", 2).unwrap();
        assert_eq!(labels.names(), ["cat", "dog"]);
        assert_eq!(Labels::parse("cat\ndog", 2).unwrap(), labels);
        // Only a first line is a heading.
        assert_eq!(Labels::parse("cat\nclasses", 2).unwrap().get(1), Some("classes"));
    }

    #[test]
    fn the_heading_is_recognised_in_any_case_and_after_a_byte_order_mark() {
        let want = ["cat", "dog"];
        assert_eq!(Labels::parse("Classes\ncat\ndog\n", 2).unwrap().names(), want);
        assert_eq!(Labels::parse("CLASSES\r\ncat\r\ndog\r\n", 2).unwrap().names(), want);
        assert_eq!(Labels::parse("\u{feff}classes\ncat\ndog\n", 2).unwrap().names(), want);
        // A BOM before the first name is not part of it.
        assert_eq!(Labels::parse("\u{feff}cat\ndog\n", 2).unwrap().get(0), Some("cat"));
    }

    #[test]
    fn one_line_too_many_points_at_the_first_line() {
        let err = Labels::parse("Labels:\ncat\ndog\n", 2).unwrap_err();
        assert!(err.starts_with("3 labels for a network with 2 classes; one too many"), "{err}");
        assert!(err.contains("first line `Labels:`"), "{err}");
        // Other mismatches say only the counts.
        assert_eq!(Labels::parse("a\nb\nc\nd\n", 2).unwrap_err(), "4 labels for a network with 2 classes");
    }

    #[test]
    fn counts_and_blank_lines_are_checked() {
        let err = Labels::parse("classes\na\nb\n", 10).unwrap_err();
        assert_eq!(err, "2 labels after the `classes` heading for a network with 10 classes");
        assert_eq!(
            Labels::parse("a\n\nb\n", 2).unwrap_err(),
            "line 2 is blank; every line up to the last names one class"
        );
    }

    #[test]
    fn a_class_is_named_by_label_or_index() {
        let labels = Labels::parse("zero\none\n7\n", 3).unwrap();
        assert_eq!(labels.class_of("one"), Some(1));
        assert_eq!(labels.class_of("7"), Some(2), "a label wins over an index");
        assert_eq!(labels.class_of("0"), Some(0));
        assert_eq!(labels.class_of("3"), None);
        assert_eq!(labels.class_of("two"), None);
    }
}
