/// Number of FER2013 classes.
pub const NUM_CLASSES: usize = 7;

/// Class names in label order.
pub const EMOTIONS: [&str; NUM_CLASSES] = [
    "Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral",
];

/// A FER2013 label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Emotion(pub u8);

impl Emotion {
    pub fn name(self) -> &'static str {
        EMOTIONS[self.0 as usize]
    }

    /// Parses a folder name such as `happy` or `Happy`.
    pub fn from_name(name: &str) -> Option<Self> {
        EMOTIONS
            .iter()
            .position(|e| e.eq_ignore_ascii_case(name))
            .map(|i| Emotion(i as u8))
    }
}
