//! `fer runs`: every run of a runs directory on one board. `state` holds the rows
//! and the user's choices, `keys` maps keys to actions, `view` draws the state,
//! `table` formats the columns (for the plain table too), `run` is the impure loop.

pub mod keys;
pub mod run;
pub mod state;
pub mod table;
pub mod view;

pub use keys::{BoardAction, BOARD_KEY_HELP};
pub use run::{run_board, BoardExit};
pub use state::{BoardOverlay, BoardState, SortKey, StateFilter};
