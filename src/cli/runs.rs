//! `fer runs`: every run of a runs directory. Without a terminal, a plain table;
//! on one, the board (`fer::tui::board`), which hands back to this loop to open a
//! run's dashboard and is entered again, as it was, when the dashboard is left.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::args::RunsArgs;
use super::{say, UserError};
use fer::report::write_report;
use fer::run::listing::scan;
use fer::run::RunDir;
use fer::tui::board::table::plain_table;
use fer::tui::board::{run_board, BoardExit, BoardState};
use fer::tui::Theme;

pub fn run(args: RunsArgs) -> Result<()> {
    let dir = &args.runs_dir;
    if !dir.is_dir() {
        return Err(UserError(format!(
            "{}: no such directory (fer train creates it; --runs-dir names another)",
            dir.display()
        ))
        .into());
    }
    let listing = scan(dir)?;
    if !(std::io::stdout().is_terminal() && std::io::stdin().is_terminal()) {
        if listing.runs.is_empty() {
            say(format!("no runs in {}", dir.display()));
        } else {
            let ascii = args.ascii || Theme::detect(false).is_ascii();
            for line in plain_table(&listing.runs, ascii) {
                say(line);
            }
        }
        for note in &listing.notes {
            say(format!("note: {note}"));
        }
        for run in listing.runs.iter().filter(|run| run.note.is_some()) {
            say(format!(
                "note: {}: {}",
                run.id,
                run.note.as_deref().unwrap_or_default()
            ));
        }
        return Ok(());
    }
    board(dir, args.ascii, BoardState::new(dir.clone(), listing))
}

/// The board until `q`; Enter leaves it for the run's dashboard and comes back.
fn board(dir: &Path, ascii: bool, mut state: BoardState) -> Result<()> {
    let theme = Theme::detect(ascii);
    loop {
        let exit = run_board(&mut state, theme, |runs| report(dir, runs))
            .context("the terminal board failed")?;
        match exit {
            BoardExit::Quit => return Ok(()),
            BoardExit::Open { path, control } => {
                let opened = RunDir::open(&path)
                    .map_err(anyhow::Error::from)
                    .and_then(|run| super::watch::dashboard(&run, control, ascii, true));
                state.status = match opened {
                    Ok(_) => String::new(),
                    Err(error) => super::error_message(&error),
                };
                fer::tui::board::run::rescan(&mut state);
            }
        }
    }
}

/// `fer report RUN... -o RUNS_DIR/report-<time>` for the board's `r`.
fn report(dir: &Path, runs: &[PathBuf]) -> Result<String, String> {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let out = dir.join(format!("report-{stamp}"));
    let report = write_report(runs, &out, "FER2013 training report")
        .map_err(|e| format!("no report: {e}"))?;
    Ok(format!(
        "wrote {} ({} runs, {} figures{})",
        report.markdown.display(),
        report.table.len(),
        report.figures.len(),
        match report.warnings.len() {
            0 => String::new(),
            n => format!(", {n} warning(s)"),
        }
    ))
}
