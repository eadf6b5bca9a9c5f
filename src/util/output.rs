//! Output folders and files that never contradict themselves: a command decides before any
//! work whether it may write its output (a folder from an earlier run is refused unless the
//! user passes `--force`), and only once its run has really started does it replace the old
//! output as a whole, so a failed command leaves what was there untouched and a forced one
//! never leaves old files beside new ones.

use std::path::{Path, PathBuf};

/// What writing an output folder will do, decided by `plan_folder` before any work starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderPlan {
    /// Missing or empty: created (if needed) when the run starts.
    Fresh,
    /// Holds an earlier output of this command and `--force` was given: replaced as a whole
    /// when the run starts.
    Replace,
}

/// Whether `name` is a temporary file of `atomic_write` (`.NAME.tmpPID`).
fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp")
}

/// Decides whether the command may write its output into `dir`. `owns` tells the command's
/// own file names (what an earlier run of it leaves); `what` names that output in messages
/// ("a training run"), `option` the option naming the folder (`--out`) and `hint` what else
/// the user may do. A folder holding files the command did not write is refused even with
/// `force`, so `--force` never deletes a user's other files.
pub fn plan_folder(
    dir: &Path,
    owns: &dyn Fn(&str) -> bool,
    what: &str,
    option: &str,
    hint: &str,
    force: bool,
) -> Result<FolderPlan, String> {
    let shown = dir.display();
    if !dir.exists() {
        return Ok(FolderPlan::Fresh);
    }
    if !dir.is_dir() {
        return Err(format!("{shown}: {option}: exists and is not a folder"));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let mut ours = Vec::new();
    let mut foreign = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{shown}: cannot read: {e}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if file && (owns(&name) || is_temp(&name)) {
            ours.push(name);
        } else {
            foreign.push(name);
        }
    }
    ours.sort();
    foreign.sort();
    if !foreign.is_empty() {
        return Err(format!(
            "{shown}: {option}: the folder holds files this command did not write ({}); \
             choose another {option} (--force replaces only a folder of its own output)",
            foreign.join(", ")
        ));
    }
    if ours.is_empty() {
        return Ok(FolderPlan::Fresh);
    }
    if force {
        return Ok(FolderPlan::Replace);
    }
    Err(format!(
        "{shown}: {option}: already holds {what} ({}); {hint}pass --force to replace it, or choose another {option}",
        ours.join(", ")
    ))
}

/// Makes `dir` ready for a run that has started: created if missing, or, for
/// `FolderPlan::Replace`, the old folder is moved aside (one rename) and removed, so the new
/// run starts in an empty folder and no old file outlives it.
pub fn prepare_folder(dir: &Path, plan: FolderPlan) -> Result<(), String> {
    let shown = dir.display();
    if plan == FolderPlan::Replace && dir.exists() {
        let aside = sibling(dir, "replaced");
        std::fs::rename(dir, &aside)
            .map_err(|e| format!("{shown}: cannot move the earlier output aside: {e}"))?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{shown}: cannot create: {e}"))?;
        std::fs::remove_dir_all(&aside)
            .map_err(|e| format!("{}: cannot remove: {e}", aside.display()))?;
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{shown}: cannot create: {e}"))
}

/// A hidden sibling of `dir` for this process (`.NAME.TAG-PID`).
fn sibling(dir: &Path, tag: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    dir.with_file_name(format!(".{name}.{tag}-{}", std::process::id()))
}

/// Decides whether a command may write the single output file `path`: an existing file is
/// refused unless `force` (then `atomic_write` replaces it whole), a folder always.
pub fn check_file(path: &Path, option: &str, force: bool) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!(
            "{shown}: is a directory; {option} names the file to write"
        ));
    }
    if path.exists() && !force {
        return Err(format!(
            "{shown}: {option}: the file exists; pass --force to replace it, or choose another {option}"
        ));
    }
    Ok(())
}
