//! The `eddy` command.

fn main() {}
