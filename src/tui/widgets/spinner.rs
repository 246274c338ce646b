//! A one-cell spinner advanced by the loop's tick while something loads.

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spinner {
    tick: usize,
}

impl Spinner {
    pub fn advance(&mut self) {
        self.tick = self.tick.wrapping_add(1);
    }

    pub fn symbol(&self) -> char {
        FRAMES[self.tick % FRAMES.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_through_frames() {
        let mut s = Spinner::default();
        let first = s.symbol();
        s.advance();
        assert_ne!(s.symbol(), first);
        for _ in 0..9 {
            s.advance();
        }
        assert_eq!(s.symbol(), first);
    }
}
