//! What the board shows and what the user has chosen: the runs as last scanned,
//! sort, filters, selection, marks, the open overlay and the status line.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::run::listing::{Listing, RunOverview, RunState};

/// The column the rows are sorted by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// The directory name, which starts with the start time.
    #[default]
    Id,
    Model,
    State,
    BestVal,
    Elapsed,
}

impl SortKey {
    pub fn next(self) -> Self {
        match self {
            Self::Id => Self::Model,
            Self::Model => Self::State,
            Self::State => Self::BestVal,
            Self::BestVal => Self::Elapsed,
            Self::Elapsed => Self::Id,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Id => "start",
            Self::Model => "model",
            Self::State => "state",
            Self::BestVal => "best val",
            Self::Elapsed => "elapsed",
        }
    }
}

/// Which states are shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StateFilter {
    #[default]
    All,
    /// Running or paused.
    Live,
    /// Finished or stopped.
    Finished,
    /// Failed, crashed, diverged or unreadable.
    Failed,
}

impl StateFilter {
    pub fn next(self) -> Self {
        match self {
            Self::All => Self::Live,
            Self::Live => Self::Finished,
            Self::Finished => Self::Failed,
            Self::Failed => Self::All,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Live => "live",
            Self::Finished => "finished",
            Self::Failed => "failed/crashed",
        }
    }

    pub fn admits(self, state: RunState) -> bool {
        match self {
            Self::All => true,
            Self::Live => state.is_live(),
            Self::Finished => matches!(state, RunState::Finished | RunState::Stopped),
            Self::Failed => state.is_failure(),
        }
    }
}

/// A box over the board that takes the keys while open.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum BoardOverlay {
    #[default]
    None,
    Help,
    /// The text filter being typed.
    Filter,
    /// `x` on a live run: stop it? y/n.
    ConfirmStop {
        id: String,
        path: PathBuf,
    },
    /// The curves of two runs (by id) together.
    Compare {
        first: String,
        second: String,
    },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct BoardState {
    pub runs_dir: PathBuf,
    /// Every run as last scanned, in scan order.
    pub runs: Vec<RunOverview>,
    /// What the scan could not read beyond single runs.
    pub notes: Vec<String>,
    pub sort: SortKey,
    pub reverse: bool,
    /// Rows whose id or model contains this (case-insensitive).
    pub filter: String,
    pub state_filter: StateFilter,
    /// The selected run's id: it stays selected across rescans and sorts.
    pub selected: Option<String>,
    /// Marked run ids (for `r` and `c`).
    pub marked: BTreeSet<String>,
    pub overlay: BoardOverlay,
    /// The last thing the board has to say (an answer, a refusal, where a report went).
    pub status: String,
}

impl BoardState {
    pub fn new(runs_dir: PathBuf, listing: Listing) -> Self {
        let mut state = Self {
            runs_dir,
            ..Self::default()
        };
        state.set_listing(listing);
        state
    }

    /// Takes a new scan; the selection stays on the same run when it is still shown.
    pub fn set_listing(&mut self, listing: Listing) {
        self.runs = listing.runs;
        self.notes = listing.notes;
        let ids: BTreeSet<&str> = self.runs.iter().map(|run| run.id.as_str()).collect();
        self.marked.retain(|id| ids.contains(id.as_str()));
        self.keep_selection_visible();
    }

    /// The rows shown: filtered, then sorted (ties in id order).
    pub fn visible(&self) -> Vec<&RunOverview> {
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<&RunOverview> = self
            .runs
            .iter()
            .filter(|run| self.state_filter.admits(run.state))
            .filter(|run| {
                needle.is_empty()
                    || run.id.to_lowercase().contains(&needle)
                    || run.model.to_lowercase().contains(&needle)
            })
            .collect();
        rows.sort_by(|a, b| {
            let order = match self.sort {
                SortKey::Id => a.id.cmp(&b.id),
                SortKey::Model => a.model.cmp(&b.model),
                SortKey::State => a.state.cmp(&b.state),
                SortKey::BestVal => {
                    compare_missing_last(a.best_val_accuracy, b.best_val_accuracy).reverse()
                }
                SortKey::Elapsed => {
                    compare_missing_last(a.elapsed_seconds, b.elapsed_seconds).reverse()
                }
            };
            order.then_with(|| a.id.cmp(&b.id))
        });
        if self.reverse {
            rows.reverse();
        }
        rows
    }

    /// The position of the selected run among the visible rows.
    pub fn selected_index(&self) -> Option<usize> {
        let rows = self.visible();
        let id = self.selected.as_deref()?;
        rows.iter().position(|run| run.id == id)
    }

    pub fn selected_run(&self) -> Option<&RunOverview> {
        let id = self.selected.as_deref()?;
        self.visible().into_iter().find(|run| run.id == id)
    }

    /// Moves the selection by `delta` rows, staying inside the list.
    pub fn move_selection(&mut self, delta: isize) {
        let rows = self.visible();
        if rows.is_empty() {
            self.selected = None;
            return;
        }
        let index = match self.selected_index() {
            Some(index) => index.saturating_add_signed(delta).min(rows.len() - 1),
            None => 0,
        };
        self.selected = Some(rows[index].id.clone());
    }

    /// After a change of rows, sort or filter: a hidden selection moves to the first row.
    pub fn keep_selection_visible(&mut self) {
        if self.selected_index().is_none() {
            self.selected = self.visible().first().map(|run| run.id.clone());
        }
    }

    /// Marked runs in the order shown, then the marked ones the filter hides.
    pub fn marked_runs(&self) -> Vec<&RunOverview> {
        let mut runs: Vec<&RunOverview> = self
            .visible()
            .into_iter()
            .filter(|run| self.marked.contains(&run.id))
            .collect();
        for run in &self.runs {
            if self.marked.contains(&run.id) && !runs.iter().any(|r| r.id == run.id) {
                runs.push(run);
            }
        }
        runs
    }

    pub fn run(&self, id: &str) -> Option<&RunOverview> {
        self.runs.iter().find(|run| run.id == id)
    }
}

/// Known values in their order, unknown ones after them.
fn compare_missing_last(a: Option<f64>, b: Option<f64>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => Ordering::Equal,
    }
}
