//! A tabular evaluator (NAS-Bench-style): measurements looked up in a CSV file with a header
//! and one row per architecture, keyed by the space's canonical name. A query trains nothing;
//! the metric stands for the validation accuracy (one "epoch") and the optional cost column
//! for simulated training seconds, so history lines look like trained ones.

use std::collections::HashMap;
use std::path::Path;

use super::{EvalEvent, Evaluator, Job, OnEvent};
use crate::search::error::SearchError;
use crate::search::objective::Measurement;
use crate::search::record::ChildStatus;
use crate::search::space::Space;

/// One row's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub metric: f64,
    pub cost: Option<f64>,
}

/// A table read into memory: canonical name to row.
#[derive(Debug, Clone)]
pub struct Table {
    pub source: String,
    pub rows: HashMap<String, Row>,
}

/// Splits one CSV line into fields (RFC 4180 quoting: `"a,b"`, `""` for a quote).
fn fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            }
            ',' if !quoted => {
                out.push(std::mem::take(&mut field));
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    out.push(field);
    Ok(out)
}

impl Table {
    /// The table a configuration names, checked against its space.
    pub fn open(config: &crate::search::SearchConfig) -> Result<Table, SearchError> {
        let t = &config.table;
        let file = t.file.as_ref().ok_or_else(|| {
            SearchError::Other("--table: the table evaluator needs a table".into())
        })?;
        let space = crate::search::space::build(config);
        Table::load(
            file,
            space.as_ref(),
            &t.arch_column,
            &t.metric,
            t.cost.as_deref(),
        )
    }

    /// Reads `path`, taking the architecture from column `arch`, the metric from `metric` and
    /// the cost from `cost`. Every architecture is checked against `space` (its canonical name
    /// must parse and be written canonically). Errors name the file, line and column.
    pub fn load(
        path: &Path,
        space: &dyn Space,
        arch: &str,
        metric: &str,
        cost: Option<&str>,
    ) -> Result<Table, SearchError> {
        let source = path.display().to_string();
        let err = |line: usize, message: String| {
            SearchError::Other(format!("{source}: line {line}: {message}"))
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| SearchError::Other(format!("{source}: cannot read: {e}")))?;
        let mut lines = text.lines().enumerate();
        let (_, header) = lines.next().ok_or_else(|| {
            SearchError::Other(format!("{source}: empty (expected a header line)"))
        })?;
        let header = fields(header.trim_start_matches('\u{feff}')).map_err(|m| err(1, m))?;
        let column = |name: &str, option: &str| {
            header.iter().position(|h| h.trim() == name).ok_or_else(|| {
                err(
                    1,
                    format!("no column '{name}' ({option}); the header has {header:?}"),
                )
            })
        };
        let arch_col = column(arch, "--table-arch-column")?;
        let metric_col = column(metric, "--table-metric")?;
        let cost_col = cost.map(|c| column(c, "--table-cost")).transpose()?;
        let mut rows = HashMap::new();
        for (i, line) in lines {
            let n = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let f = fields(line).map_err(|m| err(n, m))?;
            if f.len() != header.len() {
                return Err(err(
                    n,
                    format!("{} fields, the header has {}", f.len(), header.len()),
                ));
            }
            let name = f[arch_col].trim();
            let rollout = space
                .parse(name)
                .map_err(|m| err(n, format!("column '{arch}': {m}")))?;
            let canonical = space.canonical(&rollout);
            let number = |col: usize, what: &str| -> Result<f64, SearchError> {
                let v = f[col].trim();
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| err(n, format!("column '{what}': '{v}' is not a finite number")))
            };
            let row = Row {
                metric: number(metric_col, metric)?,
                cost: match cost_col {
                    Some(c) => Some(number(c, cost.expect("named"))?),
                    None => None,
                },
            };
            if rows.insert(canonical.clone(), row).is_some() {
                return Err(err(
                    n,
                    format!("column '{arch}': '{canonical}' is listed twice"),
                ));
            }
        }
        if rows.is_empty() {
            return Err(SearchError::Other(format!(
                "{source}: no rows after the header"
            )));
        }
        Ok(Table { source, rows })
    }
}

/// Looks each job up in a table.
pub struct TableEvaluator {
    table: Table,
}

impl TableEvaluator {
    pub fn new(table: Table) -> TableEvaluator {
        TableEvaluator { table }
    }
}

impl Evaluator for TableEvaluator {
    fn name(&self) -> &'static str {
        "table"
    }

    fn epochs(&self) -> usize {
        0
    }

    fn cheap(&self) -> bool {
        true
    }

    /// A job missing from the table stops the search with an error naming it: a benchmark
    /// table covers its whole space, so a gap means the wrong table or space.
    fn evaluate(
        &mut self,
        jobs: &[Job],
        _stop: &dyn Fn() -> bool,
        on_event: &mut OnEvent<'_>,
    ) -> Result<bool, SearchError> {
        for (slot, job) in jobs.iter().enumerate() {
            let row = self.table.rows.get(&job.canonical).ok_or_else(|| {
                SearchError::Other(format!(
                    "{}: no row for architecture '{}' (child {})",
                    self.table.source, job.canonical, job.index
                ))
            })?;
            let measurement = Measurement {
                status: ChildStatus::Ok,
                val_accuracy: vec![row.metric],
                train_seconds: row.cost.unwrap_or(0.0),
                latency: None,
                error: None,
            };
            on_event(EvalEvent::Done { slot, measurement })?;
        }
        Ok(true)
    }
}
