//! `ascribe fmt`: the formatter on every example and fixture and on random programs with
//! random comments (same tree, idempotent, no comment lost), and the command end to end.

use std::path::{Path, PathBuf};

use ascribe::diagnostic::SourceId;
use ascribe::syntax::format::format;
use ascribe::syntax::parse;

use crate::common::ascribe;
use crate::differential::generate;

/// The tree's debug form with every span removed: two texts with equal shapes are the
/// same program up to layout. Independent of `syntax::format::equivalent`, which the
/// formatter uses to check itself.
fn shape(text: &str) -> Option<String> {
    let (module, diagnostics) = parse(SourceId(0), text);
    if !diagnostics.is_empty() {
        return None;
    }
    let debug = format!("{module:?}");
    let mut out = String::new();
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("Span {") {
        out.push_str(&rest[..at]);
        let close = rest[at..].find('}').expect("a span's debug form closes");
        rest = &rest[at + close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The text of every comment, found by a scan of its own: outside strings, `//` to the
/// end of the line (trailing whitespace dropped) and `/*` to `*/`.
fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' | '\n' => break,
                        _ => {}
                    }
                }
            }
            '/' if text[i..].starts_with("//") => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                out.push(text[i..end].trim_end().to_string());
                while chars.peek().is_some_and(|(j, _)| *j < end) {
                    chars.next();
                }
            }
            '/' if text[i..].starts_with("/*") => {
                let end = text[i + 2..].find("*/").map_or(text.len(), |n| i + 4 + n);
                out.push(text[i..end].to_string());
                while chars.peek().is_some_and(|(j, _)| *j < end) {
                    chars.next();
                }
            }
            _ => {}
        }
    }
    out
}

/// Formats `text` and checks the three promises; returns the formatted text.
#[track_caller]
fn check_round_trip(name: &str, text: &str) -> String {
    let formatted = format(SourceId(0), text)
        .unwrap_or_else(|d| panic!("{name} did not format: {d:?}\n{text}"));
    assert_eq!(
        shape(&formatted),
        shape(text),
        "{name}: the tree changed\n--- input\n{text}\n--- formatted\n{formatted}"
    );
    let again = format(SourceId(0), &formatted).expect("formatted text formats");
    assert_eq!(again, formatted, "{name}: not idempotent\n{text}");
    assert_eq!(
        comments(&formatted),
        comments(text),
        "{name}: comments changed\n{formatted}"
    );
    formatted
}

fn rule_language_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            rule_language_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "rules" || e == "facts")
        {
            out.push(path);
        }
    }
}

#[test]
fn every_example_and_fixture_round_trips() {
    let mut paths = Vec::new();
    for dir in ["rules", "facts", "tests/fixtures"] {
        rule_language_files(Path::new(dir), &mut paths);
    }
    paths.sort();
    let mut formatted = 0;
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("readable");
        if shape(&text).is_none() {
            assert!(
                path.starts_with("tests/fixtures/fail"),
                "{}",
                path.display()
            );
            continue;
        }
        check_round_trip(&path.display().to_string(), &text);
        formatted += 1;
    }
    assert!(formatted > 100, "only {formatted} files");
}

/// A small seeded generator (xorshift), so a seed names a test case.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// Whitespace or a comment, any of which may stand between two tokens.
fn trivia(rng: &mut Rng, n: &mut usize) -> String {
    *n += 1;
    match rng.below(9) {
        0 => format!(" // line {n}\n    "),
        1 => format!(" /* block {n} */ "),
        2 => format!("\n/* two\n   lines {n} */\n"),
        3 => format!("\n  /// inner doc {n}\n"),
        4 => "\n\n\n".to_string(),
        5 => "\n      ".to_string(),
        6 => String::new(),
        _ => " ".to_string(),
    }
}

/// `text` with random trivia after some commas, `:-` and `.` outside strings, and
/// before some statements.
fn scramble(text: &str, rng: &mut Rng) -> String {
    let mut out = String::new();
    let mut n = 0;
    let mut in_string = false;
    let mut previous = ' ';
    for c in text.chars() {
        out.push(c);
        if in_string {
            in_string = !(c == '"' && previous != '\\');
        } else if c == '"' {
            in_string = true;
        } else if matches!(c, ',' | '-' | '(' | '\n')
            && !(c == '-' && previous != ':')
            && rng.below(3) == 0
        {
            out.push_str(&trivia(rng, &mut n));
        }
        previous = if previous == '\\' && c == '\\' {
            ' '
        } else {
            c
        };
    }
    out
}

/// Facts with constants of every kind in canonical and other spellings.
fn constants(rng: &mut Rng) -> String {
    let mut out = String::new();
    for i in 0..4 {
        let float = f64::from_bits(rng.below(u64::MAX));
        let float = if float.is_finite() { float } else { 0.5 };
        let int = rng.below(u64::MAX) as i64;
        let date = format!(
            "{:04}-{:02}-{:02}",
            1900 + rng.below(300),
            1 + rng.below(12),
            1 + rng.below(28)
        );
        let escapes = ["\\\"", "\\\\", "\\n", "\\t", "\\r", "é", " ", "x"];
        let string: String = (0..rng.below(6))
            .map(|_| escapes[rng.below(escapes.len() as u64) as usize])
            .collect();
        out.push_str(&format!(
            "k{i}({float:.17e}, {:.17e}, {int}, {date}, \"{string}\") @confidence(0.{}).\n",
            float / 3.0,
            1 + rng.below(9)
        ));
    }
    out
}

#[test]
fn random_programs_with_random_comments_round_trip() {
    for seed in 0..300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let program = generate(seed).text() + &constants(&mut rng);
        let scrambled = scramble(&program, &mut rng);
        let (_, diagnostics) = parse(SourceId(0), &scrambled);
        assert!(
            diagnostics.is_empty(),
            "seed {seed}: the scrambled program does not parse: {diagnostics:?}\n{scrambled}"
        );
        check_round_trip(&format!("seed {seed}"), &program);
        check_round_trip(&format!("seed {seed} scrambled"), &scrambled);
    }
}

fn temp_copy(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fmt-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (file, text) in files {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("dir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let output = ascribe(args);
    (
        output.status.code(),
        String::from_utf8(output.stdout).expect("UTF-8"),
        String::from_utf8(output.stderr).expect("UTF-8"),
    )
}

const MESSY: &str = "p(X):-q(X) , r(X). // why\n";
const TIDY: &str = "p(X) :- q(X), r(X). // why\n";

#[test]
fn check_prints_a_diff_and_writes_nothing() {
    let dir = temp_copy("check", &[("a.rules", MESSY), ("sub/b.facts", "q(1).\n")]);
    let d = dir.display().to_string();
    let (code, out, err) = run(&["fmt", "--check", &d]);
    assert_eq!(code, Some(1), "{err}");
    let a = dir.join("a.rules").display().to_string();
    assert_eq!(
        out,
        format!("--- {a}\n+++ {a}\n@@ -1 +1 @@\n-p(X):-q(X) , r(X). // why\n+{TIDY}")
    );
    assert!(err.contains("1 file would be reformatted"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("a.rules")).expect("read"),
        MESSY
    );
    std::fs::write(dir.join("a.rules"), TIDY).expect("write");
    let (code, out, err) = run(&["fmt", "--check", &d]);
    assert_eq!((code, out.as_str(), err.as_str()), (Some(0), "", ""));
}

#[test]
fn rewrites_in_place_keeping_permissions_and_untouched_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_copy("rewrite", &[("a.rules", MESSY), ("b.facts", "q(1).\n")]);
    let a = dir.join("a.rules");
    let b = dir.join("b.facts");
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(&b)
        .and_then(|f| f.set_modified(old))
        .expect("set mtime");
    let (code, out, err) = run(&["fmt", &dir.display().to_string()]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, format!("reformatted {}\n", a.display()));
    assert_eq!(std::fs::read_to_string(&a).expect("read"), TIDY);
    let mode = std::fs::metadata(&a).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
    assert_eq!(
        std::fs::metadata(&b).and_then(|m| m.modified()).ok(),
        Some(old)
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

#[test]
fn symbolic_links_are_not_followed() {
    let dir = temp_copy("symlink", &[("real/a.rules", MESSY)]);
    let link = dir.join("link.rules");
    std::os::unix::fs::symlink(dir.join("real/a.rules"), &link).expect("symlink");
    for path in [link.clone(), dir.clone()] {
        let (code, _, err) = run(&["fmt", "--check", &path.display().to_string()]);
        if path == link {
            assert_eq!(code, Some(0), "{err}");
        }
        assert!(err.contains("W0901"), "{err}");
        assert!(
            err.contains("link.rules is a symbolic link; skipped"),
            "{err}"
        );
    }
    let (code, _, err) = run(&["fmt", &link.display().to_string()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(std::fs::symlink_metadata(&link)
        .expect("stat")
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(dir.join("real/a.rules")).expect("read"),
        MESSY
    );
}

#[test]
fn a_file_with_syntax_errors_is_left_alone_and_others_are_formatted() {
    let broken = "p(X) :- q(X)\nr(1) .\n";
    let dir = temp_copy("broken", &[("a.rules", broken), ("b.rules", MESSY)]);
    let (code, out, err) = run(&["fmt", &dir.display().to_string()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("error[E0001]"), "{err}");
    assert!(err.contains("a.rules:1:13"), "{err}");
    assert_eq!(
        out,
        format!("reformatted {}\n", dir.join("b.rules").display())
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("a.rules")).expect("read"),
        broken
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("b.rules")).expect("read"),
        TIDY
    );
}

#[test]
fn usage_and_io_errors_exit_two_naming_the_file() {
    let (code, _, err) = run(&["fmt"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, _, err) = run(&["fmt", "no/such.rules"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("E0902") && err.contains("no/such.rules"),
        "{err}"
    );
}

#[test]
fn standard_input_to_standard_output() {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ascribe"))
        .args(["fmt", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(MESSY.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("exits");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout), TIDY);
}
