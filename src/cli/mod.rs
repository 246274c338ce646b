//! The command line (placeholder while the commands are written).

pub fn main() -> i32 {
    0
}
