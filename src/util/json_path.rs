//! The field a position of a JSON text lies in (`controller.init_range`, `layers[2].filters`),
//! for parse errors that serde_json reports only by line and column (a number out of range such
//! as `1e999` fails before any field is read).

/// The path of the value at `line`/`column` (1-based, as serde_json reports them), or None at
/// the top level.
pub fn path_at(text: &str, line: usize, column: usize) -> Option<String> {
    let offset = offset_of(text, line, column)?;
    // One entry per open container: the key (objects) or index (arrays) being read.
    let mut stack: Vec<Step> = Vec::new();
    let mut chars = text[..offset.min(text.len())].char_indices().peekable();
    let mut last_string: Option<String> = None;
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => {
                let mut s = String::new();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, e)) = chars.next() {
                                s.push(e);
                            }
                        }
                        '"' => break,
                        c => s.push(c),
                    }
                }
                last_string = Some(s);
            }
            ':' => {
                if let Some(Step::Key(k)) = stack.last_mut() {
                    *k = last_string.take();
                }
            }
            ',' => match stack.last_mut() {
                Some(Step::Index(i)) => *i += 1,
                Some(Step::Key(k)) => *k = None,
                None => {}
            },
            '{' => stack.push(Step::Key(None)),
            '[' => stack.push(Step::Index(0)),
            '}' | ']' => {
                stack.pop();
            }
            _ => {}
        }
    }
    let mut path = String::new();
    for step in &stack {
        match step {
            Step::Key(Some(k)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Step::Key(None) => {}
            Step::Index(i) => path.push_str(&format!("[{i}]")),
        }
    }
    (!path.is_empty()).then_some(path)
}

enum Step {
    Key(Option<String>),
    Index(usize),
}

/// Byte offset of a 1-based line and column.
fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    let mut start = 0;
    for _ in 1..line {
        start += text[start..].find('\n')? + 1;
    }
    let line_text = text[start..].split('\n').next().unwrap_or("");
    let col = line_text
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(line_text.len(), |(i, _)| i);
    Some(start + col)
}

#[cfg(test)]
mod tests {
    use super::path_at;

    #[test]
    fn names_the_field_of_a_position() {
        let text = "{\n  \"controller\": {\n    \"hidden\": 35,\n    \"init_range\": 1e999\n  }\n}";
        let e = serde_json::from_str::<serde_json::Value>(text).unwrap_err();
        assert_eq!(
            path_at(text, e.line(), e.column()).as_deref(),
            Some("controller.init_range")
        );
        let arch = r#"{"layers": [{"filters": 3}, {"filters": 1e999}]}"#;
        let e = serde_json::from_str::<serde_json::Value>(arch).unwrap_err();
        assert_eq!(
            path_at(arch, e.line(), e.column()).as_deref(),
            Some("layers[1].filters")
        );
    }
}
