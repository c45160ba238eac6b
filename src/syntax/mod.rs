//! Text to syntax tree: the nom grammar of rule and fact files, the tree it builds, and
//! the formatter that prints a tree back in canonical layout (`format`).
//!
//! This is the only module that knows nom. Its output, [`ast::Module`], is exactly what
//! was written, with a byte [`Span`](crate::diagnostic::Span) on every node; nothing is
//! checked here beyond the grammar.

pub mod ast;
pub mod format;
mod parser;
pub mod test_file;

pub use parser::parse;

#[cfg(test)]
mod tests;
