//! What the workspace's test suites share. A dev-dependency of the crates whose tests use it;
//! nothing in a product build depends on it.

#[cfg(feature = "web3signer")]
pub mod web3signer;

pub mod fuzz {
    //! Property tests: one configuration and the generic generators.

    use proptest::prelude::*;
    use serde_json::Value;

    /// `cases` cases and no regression files: a suite may not write into the source tree.
    pub fn config(cases: u32) -> ProptestConfig {
        ProptestConfig {
            cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Any JSON value, three levels deep at most, with hex-looking strings among the leaves.
    pub fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "(0x)?[0-9a-f]{0,70}".prop_map(Value::String),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z_]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Sets (or with `None` removes) the member at a JSON pointer, if its parent is an object.
    pub fn set(root: &mut Value, pointer: &str, new: Option<Value>) {
        let Some((parent, key)) = pointer.rsplit_once('/') else {
            return;
        };
        if let Some(Value::Object(object)) = root.pointer_mut(parent) {
            match new {
                Some(value) => object.insert(key.to_string(), value),
                None => object.remove(key),
            };
        }
    }
    /// `text` with the value of one `key<separator>value` line replaced by `value`, then cut at
    /// a random length (on a character boundary): a config file an operator half edited.
    pub fn mutate_lines(
        text: &str,
        line: prop::sample::Index,
        value: &str,
        cut: prop::sample::Index,
        separator: &str,
    ) -> String {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        if lines.is_empty() {
            return String::new();
        }
        let i = line.index(lines.len());
        let key = lines[i]
            .split(separator)
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_string();
        lines[i] = format!("{key}{separator}{value}");
        let text = lines.join("\n");
        let mut end = cut.index(text.len() + 1);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text[..end].to_string()
    }

    /// A scalar as a config file may hold it: numbers, quoted strings, empty collections, noise.
    pub fn scalar_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            Just("\"http://x\"".to_string()),
            Just("\"/\"".to_string()),
            Just("[]".to_string()),
            Just("{}".to_string()),
            "[ -~]{0,16}",
        ]
    }
}
