//! A bounded log of what happened during a run, newest last.

use std::collections::VecDeque;

/// How many lines the dashboard keeps; older ones are dropped.
pub const LOG_CAPACITY: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Info,
    /// Good news: a new best epoch, a saved checkpoint, a finished run.
    Good,
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    /// Run time (engine seconds) when the line was written.
    pub at_seconds: f64,
    pub level: LogLevel,
    pub text: String,
}

/// A ring of log lines that never grows past its capacity.
#[derive(Clone, Debug)]
pub struct LogRing {
    lines: VecDeque<LogLine>,
    capacity: usize,
}

impl Default for LogRing {
    fn default() -> Self {
        Self::with_capacity(LOG_CAPACITY)
    }
}

impl LogRing {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            lines: VecDeque::with_capacity(capacity.min(LOG_CAPACITY)),
            capacity: capacity.max(1),
        }
    }

    pub fn push(&mut self, at_seconds: f64, level: LogLevel, text: impl Into<String>) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(LogLine {
            at_seconds,
            level,
            text: text.into(),
        });
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Every kept line, oldest first.
    pub fn lines(&self) -> impl DoubleEndedIterator<Item = &LogLine> + ExactSizeIterator {
        self.lines.iter()
    }

    /// The newest `count` lines, oldest first.
    pub fn last(&self, count: usize) -> impl Iterator<Item = &LogLine> {
        self.lines
            .iter()
            .skip(self.lines.len().saturating_sub(count))
    }
}
