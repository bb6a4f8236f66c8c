//! A cheap guard for configuration text: YAML parsers take time quadratic in how deeply flow
//! collections (`[`, `{`) nest, so a small hostile file could hold a role up for minutes at
//! start. No configuration needs more than a few levels.

/// The deepest nesting of flow collections a configuration file may have.
pub const MAX_NESTING: usize = 64;

/// Refuses `text` whose `[`/`{` collections nest deeper than `max` (outside quoted strings and
/// comments), before any parser sees it.
pub fn check_nesting(text: &str, max: usize) -> Result<(), String> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (line, text_line) in text.lines().enumerate() {
        let mut comment = false;
        for c in text_line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                _ if comment => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') => comment = true,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > max {
                        return Err(format!(
                            "line {}: lists and maps nest deeper than {max} levels",
                            line + 1
                        ));
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_refused_and_quotes_are_skipped() {
        assert!(check_nesting("a: [[1, 2], {b: [3]}]\n", 3).is_ok());
        let deep = format!("a: {}{}\n", "[".repeat(5), "]".repeat(5));
        assert!(check_nesting(&deep, 4).unwrap_err().contains("line 1"));
        assert!(check_nesting("a: \"[[[[[[\" # {{{{{\nb: 1\n", 2).is_ok());
    }
}
