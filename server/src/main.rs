//! imlogin-server (work in progress).
fn main() {}
