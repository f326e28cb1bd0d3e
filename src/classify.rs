//! Scoring an image classifier: which images to classify, the truth about each (a parent folder
//! named like a class, or a `path,label` CSV), and the summary — predicted counts, overall and
//! per-class accuracy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::labels::Labels;

/// File extensions taken for images when searching folders.
pub const IMAGE_EXTENSIONS: [&str; 9] = ["jpg", "jpeg", "png", "bmp", "tif", "tiff", "webp", "gif", "jpe"];

/// One classified image.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The image.
    pub path: PathBuf,
    /// The best classes and their scores, best first (at least one).
    pub top: Vec<(usize, f32)>,
    /// The true class, when known.
    pub truth: Option<usize>,
}

impl Prediction {
    /// Whether the best class is the true one (`None` when the truth is unknown).
    pub fn correct(&self) -> Option<bool> {
        self.truth.map(|t| self.top.first().is_some_and(|&(best, _)| best == t))
    }
}

/// Where the truth about an image comes from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Truth {
    /// The CSV's path and its `path → (label, line number)` pairs; `None`: the image's parent
    /// folder names its class.
    csv: Option<(PathBuf, CsvLines)>,
}

/// A truth CSV's `image path → (label, line number)`.
type CsvLines = BTreeMap<PathBuf, (String, usize)>;

impl Truth {
    /// The truth is the name of each image's parent folder (a label, or a class index).
    pub fn from_folders() -> Truth {
        Truth { csv: None }
    }

    /// Reads a CSV of `path,label` lines (blank lines skipped); a path may be given in full or
    /// as the file name alone.
    pub fn read_csv(path: &Path) -> Result<Truth> {
        let text = crate::files::read_text_at_most(path, crate::labels::MAX_LABEL_FILE)
            .map_err(|source| Error::Io { path: path.to_owned(), source })?;
        let mut truth = BTreeMap::new();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let (file, label) = line.rsplit_once(',').ok_or_else(|| Error::Labels {
                path: path.to_owned(),
                message: format!("line {}: expected `path,label`", n + 1),
            })?;
            truth.insert(PathBuf::from(file.trim()), (label.trim().to_owned(), n + 1));
        }
        Ok(Truth { csv: Some((path.to_owned(), truth)) })
    }

    /// With a CSV: every label in it must be a class (by name or index) and every image must
    /// have a line, else an error naming the CSV line or the image. Folder truth is optional.
    pub fn check(&self, images: &[PathBuf], labels: &Labels) -> Result<()> {
        let Some((path, map)) = &self.csv else { return Ok(()) };
        let fail = |message: String| Err(Error::Labels { path: path.clone(), message });
        if let Some((label, line)) = map.values().find(|(label, _)| labels.class_of(label).is_none()) {
            return fail(format!("line {line}: label `{label}` is neither a label nor a class index"));
        }
        match images.iter().find(|image| Self::line_of(map, image).is_none()) {
            Some(image) => fail(format!("no line gives the truth for {}", image.display())),
            None => Ok(()),
        }
    }

    fn line_of<'a>(map: &'a CsvLines, image: &Path) -> Option<&'a (String, usize)> {
        map.get(image).or_else(|| image.file_name().and_then(|f| map.get(Path::new(f))))
    }

    /// The true class of an image, if known and one of `labels`.
    pub fn of(&self, image: &Path, labels: &Labels) -> Option<usize> {
        let name = match &self.csv {
            Some((_, map)) => Self::line_of(map, image)?.0.clone(),
            None => image.parent()?.file_name()?.to_string_lossy().into_owned(),
        };
        labels.class_of(&name)
    }
}

/// Correct and evaluated predictions of one class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassScore {
    /// Images of this class whose best class was right.
    pub correct: usize,
    /// Images of this class with a known truth.
    pub total: usize,
}

/// What a set of predictions adds up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Images classified.
    pub count: usize,
    /// Images per predicted (best) class, by label.
    pub predicted: BTreeMap<String, usize>,
    /// Images with a known truth.
    pub evaluated: usize,
    /// Of those, how many were classified right.
    pub correct: usize,
    /// Scores per true class, by label.
    pub per_class: BTreeMap<String, ClassScore>,
}

impl Summary {
    /// Adds up predictions whose classes are indices into `labels`.
    pub fn of(predictions: &[Prediction], labels: &Labels) -> Summary {
        let name = |class: usize| labels.get(class).unwrap_or_default().to_owned();
        let mut summary = Summary { count: predictions.len(), ..Summary::default() };
        for p in predictions {
            if let Some(&(best, _)) = p.top.first() {
                *summary.predicted.entry(name(best)).or_default() += 1;
            }
            if let (Some(truth), Some(correct)) = (p.truth, p.correct()) {
                summary.evaluated += 1;
                summary.correct += usize::from(correct);
                let score = summary.per_class.entry(name(truth)).or_default();
                score.correct += usize::from(correct);
                score.total += 1;
            }
        }
        summary
    }

    /// Share of evaluated images classified right, if any were evaluated.
    pub fn accuracy(&self) -> Option<f64> {
        (self.evaluated > 0).then(|| self.correct as f64 / self.evaluated as f64)
    }
}

/// The images named: files as given, folders searched recursively for image files (sorted).
pub fn collect_images(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for input in inputs {
        if input.is_dir() {
            walk(input, &mut found)?;
        } else if input.exists() {
            found.push(input.clone());
        } else {
            return Err(Error::Input { path: Some(input.clone()), message: "no such file or folder".into() });
        }
    }
    if found.is_empty() {
        return Err(Error::Input { path: None, message: "no images found".into() });
    }
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    // Entry types do not follow symbolic links, so a link to a parent folder cannot loop.
    let mut entries: Vec<(PathBuf, bool)> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io { path: dir.to_owned(), source })?
        .filter_map(|e| e.ok().map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_dir()))))
        .collect();
    entries.sort();
    for (path, is_dir) in entries {
        if is_dir {
            walk(&path, found)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            found.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_accuracy_overall_and_per_class() {
        let labels = Labels::parse("cat\ndog\n", 2).unwrap();
        let p = |path: &str, best: usize, truth: Option<usize>| Prediction {
            path: PathBuf::from(path),
            top: vec![(best, 0.9), (1 - best, 0.1)],
            truth,
        };
        let predictions = [p("a", 0, Some(0)), p("b", 1, Some(0)), p("c", 1, Some(1)), p("d", 1, None)];
        let s = Summary::of(&predictions, &labels);
        assert_eq!((s.count, s.evaluated, s.correct), (4, 3, 2));
        assert_eq!(s.predicted, BTreeMap::from([("cat".to_owned(), 1), ("dog".to_owned(), 3)]));
        assert_eq!(s.per_class["cat"], ClassScore { correct: 1, total: 2 });
        assert_eq!(s.per_class["dog"], ClassScore { correct: 1, total: 1 });
        assert_eq!(s.accuracy(), Some(2.0 / 3.0));
        assert_eq!(Summary::of(&predictions[3..], &labels).accuracy(), None);
    }

    #[test]
    fn truth_from_folders_or_a_csv_by_path_or_file_name() {
        let labels = Labels::parse("classes\ncat\ndog\n", 2).unwrap();
        assert_eq!(Truth::from_folders().of(Path::new("set/dog/1.png"), &labels), Some(1));
        assert_eq!(Truth::from_folders().of(Path::new("set/0/1.png"), &labels), Some(0));
        assert_eq!(Truth::from_folders().of(Path::new("set/bird/1.png"), &labels), None);
        let dir = std::env::temp_dir().join(format!("ncs-truth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("truth.csv");
        std::fs::write(&csv, "x/1.png, cat\n\n2.png,dog\n").unwrap();
        let truth = Truth::read_csv(&csv).unwrap();
        assert_eq!(truth.of(Path::new("x/1.png"), &labels), Some(0));
        assert_eq!(truth.of(Path::new("elsewhere/2.png"), &labels), Some(1));
        std::fs::write(&csv, "1.png cat\n").unwrap();
        let err = Truth::read_csv(&csv).unwrap_err();
        assert!(matches!(&err, Error::Labels { .. }) && err.to_string().ends_with("line 1: expected `path,label`"));
    }
}
