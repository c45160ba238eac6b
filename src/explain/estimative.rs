//! ICD 203 estimative language: the words analysts use for a probability.
//!
//! The seven terms and their ranges are those of Intelligence Community Directive 203
//! (as in the MISP `estimative-language` taxonomy): almost no chance 1-5%, very unlikely
//! 5-20%, unlikely 20-45%, roughly even chance 45-55%, likely 55-80%, very likely 80-95%,
//! almost certain 95-99%. Values outside 1-99% take the nearest end term. A value on a
//! shared boundary takes the term above it, except that 55% is still "roughly even
//! chance".

/// The ICD 203 likelihood term for a confidence in \[0, 1\].
pub fn likelihood(confidence: f64) -> &'static str {
    // Compare in whole percent, rounded, so 0.8 and 0.7999999 read the same.
    let percent = (confidence * 100.0).round();
    if percent < 5.0 {
        "almost no chance"
    } else if percent < 20.0 {
        "very unlikely"
    } else if percent < 45.0 {
        "unlikely"
    } else if percent <= 55.0 {
        "roughly even chance"
    } else if percent < 80.0 {
        "likely"
    } else if percent < 95.0 {
        "very likely"
    } else {
        "almost certain"
    }
}

#[cfg(test)]
mod tests {
    use super::likelihood;

    #[test]
    fn terms_follow_icd_203_ranges() {
        let cases = [
            (0.0, "almost no chance"),
            (0.04, "almost no chance"),
            (0.05, "very unlikely"),
            (0.2, "unlikely"),
            (0.45, "roughly even chance"),
            (0.55, "roughly even chance"),
            (0.56, "likely"),
            (0.7999999, "very likely"),
            (0.81, "very likely"),
            (0.95, "almost certain"),
            (1.0, "almost certain"),
        ];
        for (confidence, term) in cases {
            assert_eq!(likelihood(confidence), term, "confidence {confidence}");
        }
    }
}
