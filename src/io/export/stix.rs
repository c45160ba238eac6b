//! Conclusions as one STIX 2.1 bundle: incidents, candidates, `attributed-to`
//! relationships with their confidence, a `note` with each explanation, ascribe as
//! the `identity` that created them.
//!
//! The bundle is a pure function of the [`Conclusions`] it is given: every id is a
//! UUIDv5 of what the object stands for (its type and name, or for a relationship its
//! ends and the ascribe relation), every timestamp is [`Conclusions::as_of`] at
//! midnight UTC, and objects come in a fixed order with their properties sorted by
//! name. Exporting the same conclusions twice gives the same bytes.
//!
//! | STIX object | stands for | id from |
//! |---|---|---|
//! | `identity` "ascribe" (`identity_class` `system`) | the reasoner; every other object's `created_by_ref` | fixed; created 1970-01-01 |
//! | `extension-definition` "ascribe conclusion" | the `x_ascribe_*` properties of relationships (a top-level property extension) | fixed; created 1970-01-01 |
//! | `incident` | each incident reported on | `incident:` + its name |
//! | `intrusion-set`, `threat-actor`, `identity` | each candidate (see [`CandidateKind`]) | its type + `:` + its name |
//! | `relationship` `attributed-to` | one candidate of one hypothesis for one incident | incident, relation, candidate |
//! | `note` | the explanation of that attribution, referring to it and to both ends | the relationship's id |
//!
//! A relationship's `confidence` is the conclusion's confidence on STIX's 0-100 scale
//! (rounded to the nearest integer); its description names the conclusion and its ICD
//! 203 term, and the custom properties `x_ascribe_confidence` (the exact number),
//! `x_ascribe_likelihood` (the term), `x_ascribe_fact`, `x_ascribe_hypothesis` and
//! `x_ascribe_status` keep the rest. The sources of the conclusion's best derivation
//! are its `external_references` (each source's text as `source_name`).

use serde_json::{json, Map, Value as Json};
use uuid::Uuid;

use crate::value::Value;

/// The namespace of every id: UUIDv5 of the URL namespace and
/// `https://crates.io/crates/ascribe`.
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://crates.io/crates/ascribe")
}

fn id(stix_type: &str, name: &str) -> String {
    format!(
        "{stix_type}--{}",
        Uuid::new_v5(&namespace(), format!("{stix_type}:{name}").as_bytes())
    )
}

/// What STIX object a candidate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CandidateKind {
    /// A group (`intrusion-set`): an adversary's activity as a whole, such as APT40.
    IntrusionSet,
    /// An organisation acting with intent (`threat-actor`, type `nation-state`), such
    /// as a state's intelligence service.
    ThreatActor,
    /// A state (`identity` of class `organization`, sector `government`).
    State,
}

impl CandidateKind {
    /// The kind for a hypothesis relation's candidate column named `column`: `group`
    /// (or a name ending in `_group`) is an intrusion set; `state`, `country` and
    /// `nation` are states; anything else (`organ`, `sponsor`, `actor`, no name) is a
    /// threat actor.
    pub fn for_column(column: Option<&str>) -> CandidateKind {
        match column {
            Some("group" | "intrusion_set") => CandidateKind::IntrusionSet,
            Some(name) if name.ends_with("_group") => CandidateKind::IntrusionSet,
            Some("state" | "country" | "nation") => CandidateKind::State,
            _ => CandidateKind::ThreatActor,
        }
    }

    fn stix_type(self) -> &'static str {
        match self {
            CandidateKind::IntrusionSet => "intrusion-set",
            CandidateKind::ThreatActor => "threat-actor",
            CandidateKind::State => "identity",
        }
    }
}

/// One candidate conclusion about an incident.
#[derive(Clone, Debug)]
pub struct Attribution {
    /// The hypothesis relation, e.g. `conducted_by`.
    pub relation: String,
    /// Its `@hypothesis` label, e.g. "responsible group".
    pub label: String,
    /// The candidate, as written in the facts (`apt40`).
    pub candidate: String,
    /// What STIX object it is.
    pub kind: CandidateKind,
    /// The conclusion as written, `conducted_by(nz_pco_2021, apt40)`.
    pub fact: String,
    /// Its confidence in \[0, 1\].
    pub confidence: f64,
    /// The ICD 203 term of the confidence.
    pub likelihood: String,
    /// `concluded` (at or above the report's threshold) or `below_threshold`.
    pub status: String,
    /// The sources of its best derivation, in explanation order.
    pub sources: Vec<String>,
    /// Its explanation as text (the derivation tree).
    pub explanation: String,
    /// Its best derivation in words, where the rule has a sentence.
    pub sentence: Option<String>,
}

/// What is concluded about one incident.
#[derive(Clone, Debug)]
pub struct Incident {
    /// The incident, as written in the facts (`nz_pco_2021`).
    pub name: String,
    /// Its candidates, in the order to export.
    pub attributions: Vec<Attribution>,
    /// Conclusions about it that name no candidate (a one-column hypothesis such as
    /// `state_actor_involved(nz_pco_2021)`), each as `fact term (confidence)`: named in
    /// the incident's description.
    pub findings: Vec<String>,
}

/// Everything one bundle holds.
#[derive(Clone, Debug)]
pub struct Conclusions {
    /// The day the conclusions hold (days since 1970-01-01): every object's `created`
    /// and `modified`, at 00:00:00 UTC.
    pub as_of: i32,
    /// The incidents, in the order to export.
    pub incidents: Vec<Incident>,
}

/// `YYYY-MM-DDT00:00:00.000Z`.
fn timestamp(day: i32) -> String {
    format!("{}T00:00:00.000Z", Value::Date(day))
}

/// The id of ascribe's `identity`.
pub fn ascribe_identity_id() -> String {
    id("identity", "ascribe")
}

/// The bundle as pretty-printed JSON, with a final line break.
pub fn bundle(conclusions: &Conclusions) -> String {
    let created = timestamp(conclusions.as_of);
    let ascribe = ascribe_identity_id();
    let epoch = timestamp(0);
    let extension = id("extension-definition", "ascribe-conclusion");
    let mut objects = Objects::default();
    objects.push(&json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": ascribe,
        "created": epoch,
        "modified": epoch,
        "name": "ascribe",
        "identity_class": "system",
        "description": "Rule-based attribution reasoning: each conclusion is derived by rules from sourced evidence, with a confidence and an explanation.",
    }));
    objects.push(&json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": extension,
        "created": epoch,
        "modified": epoch,
        "created_by_ref": ascribe,
        "name": "ascribe conclusion",
        "description": "What ascribe concluded, beside STIX's rounded confidence.",
        "schema": "Top-level properties of an attributed-to relationship: x_ascribe_confidence (number in [0, 1], the exact confidence), x_ascribe_likelihood (its ICD 203 term), x_ascribe_fact (the conclusion in the rule language), x_ascribe_hypothesis (the relation concluded), x_ascribe_status (concluded or below_threshold).",
        "version": "1.0.0",
        "extension_types": ["toplevel-property-extension"],
        "extension_properties": [
            "x_ascribe_confidence",
            "x_ascribe_likelihood",
            "x_ascribe_fact",
            "x_ascribe_hypothesis",
            "x_ascribe_status",
        ],
    }));
    let common = |object: &mut Map<String, Json>| {
        object.insert("spec_version".into(), json!("2.1"));
        object.insert("created".into(), json!(created));
        object.insert("modified".into(), json!(created));
        object.insert("created_by_ref".into(), json!(ascribe));
    };
    let mut candidates: Vec<(CandidateKind, String)> = Vec::new();
    let mut relationships = Objects::default();
    let mut notes = Objects::default();
    for incident in &conclusions.incidents {
        let incident_id = id("incident", &incident.name);
        let mut object = Map::new();
        object.insert("type".into(), json!("incident"));
        object.insert("id".into(), json!(incident_id));
        object.insert("name".into(), json!(incident.name));
        let summary: Vec<String> = incident
            .attributions
            .iter()
            .map(|a| format!("{} {} ({:.3})", a.fact, a.likelihood, a.confidence))
            .chain(incident.findings.iter().cloned())
            .collect();
        object.insert(
            "description".into(),
            json!(if summary.is_empty() {
                "No candidate was derived.".to_owned()
            } else {
                format!("Conclusions: {}.", summary.join("; "))
            }),
        );
        common(&mut object);
        objects.push(&Json::Object(object));
        for attribution in &incident.attributions {
            let kind = attribution.kind;
            let candidate_id = id(kind.stix_type(), &attribution.candidate);
            if !candidates.contains(&(kind, attribution.candidate.clone())) {
                candidates.push((kind, attribution.candidate.clone()));
            }
            let relationship_id = id(
                "relationship",
                &format!(
                    "attributed-to:{}:{}:{}",
                    incident.name, attribution.relation, attribution.candidate
                ),
            );
            let mut relationship = Map::new();
            relationship.insert("type".into(), json!("relationship"));
            relationship.insert("id".into(), json!(relationship_id));
            relationship.insert("relationship_type".into(), json!("attributed-to"));
            relationship.insert("source_ref".into(), json!(incident_id));
            relationship.insert("target_ref".into(), json!(candidate_id));
            relationship.insert(
                "confidence".into(),
                json!((attribution.confidence * 100.0).round() as i64),
            );
            relationship.insert(
                "description".into(),
                json!(format!(
                    "{}: {} ({}, {:.3}; {}).",
                    attribution.label,
                    attribution.candidate,
                    attribution.likelihood,
                    attribution.confidence,
                    attribution.fact
                )),
            );
            relationship.insert("x_ascribe_confidence".into(), json!(attribution.confidence));
            relationship.insert("x_ascribe_likelihood".into(), json!(attribution.likelihood));
            relationship.insert("x_ascribe_fact".into(), json!(attribution.fact));
            relationship.insert("x_ascribe_hypothesis".into(), json!(attribution.relation));
            relationship.insert("x_ascribe_status".into(), json!(attribution.status));
            relationship.insert(
                "extensions".into(),
                json!({ extension.clone(): { "extension_type": "toplevel-property-extension" } }),
            );
            if !attribution.sources.is_empty() {
                let references: Vec<Json> = attribution
                    .sources
                    .iter()
                    .map(|s| {
                        json!({
                            "source_name": s,
                            "description": "a source of the evidence under this conclusion's best derivation",
                        })
                    })
                    .collect();
                relationship.insert("external_references".into(), Json::Array(references));
            }
            common(&mut relationship);
            relationships.push(&Json::Object(relationship));

            let mut note = Map::new();
            note.insert("type".into(), json!("note"));
            note.insert("id".into(), json!(id("note", &relationship_id)));
            note.insert(
                "abstract".into(),
                json!(attribution
                    .sentence
                    .clone()
                    .unwrap_or_else(|| format!("Why {} holds", attribution.fact))),
            );
            note.insert("content".into(), json!(attribution.explanation));
            note.insert("authors".into(), json!(["ascribe"]));
            note.insert(
                "object_refs".into(),
                json!([relationship_id, incident_id, candidate_id]),
            );
            common(&mut note);
            notes.push(&Json::Object(note));
        }
    }
    candidates.sort();
    for (kind, name) in candidates {
        let mut object = Map::new();
        object.insert("type".into(), json!(kind.stix_type()));
        object.insert("id".into(), json!(id(kind.stix_type(), &name)));
        object.insert("name".into(), json!(name));
        match kind {
            CandidateKind::IntrusionSet => {}
            CandidateKind::ThreatActor => {
                object.insert("threat_actor_types".into(), json!(["nation-state"]));
            }
            CandidateKind::State => {
                object.insert("identity_class".into(), json!("organization"));
                object.insert("sectors".into(), json!(["government-national"]));
            }
        }
        common(&mut object);
        objects.push(&Json::Object(object));
    }
    objects.append(relationships);
    objects.append(notes);
    // The bundle as serde_json would print it (members sorted: `id`, `objects`,
    // `type`), but built object by object: a bundle of 20,000 attributions as one
    // `serde_json::Value` took eight times the memory of its text.
    let bundle_id = id("bundle", &objects.ids.join(","));
    let mut out = format!("{{\n  \"id\": \"{bundle_id}\",\n  \"objects\": [\n");
    out.push_str(&objects.text.join(",\n"));
    out.push_str("\n  ],\n  \"type\": \"bundle\"\n}\n");
    out
}

/// Objects printed as members of the bundle's `objects` array, in order.
#[derive(Default)]
struct Objects {
    ids: Vec<String>,
    /// Each object pretty-printed, every line indented by four spaces.
    text: Vec<String>,
}

impl Objects {
    fn push(&mut self, object: &Json) {
        let id = object
            .get("id")
            .and_then(Json::as_str)
            .expect("every object has an id");
        self.ids.push(id.to_owned());
        let printed = serde_json::to_string_pretty(object).expect("an object serialises");
        let mut indented = String::with_capacity(printed.len() + printed.len() / 8);
        for (i, line) in printed.lines().enumerate() {
            if i > 0 {
                indented.push('\n');
            }
            indented.push_str("    ");
            indented.push_str(line);
        }
        self.text.push(indented);
    }

    fn append(&mut self, mut other: Objects) {
        self.ids.append(&mut other.ids);
        self.text.append(&mut other.text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_v5_of_what_the_object_stands_for() {
        let apt40 = id("intrusion-set", "apt40");
        assert_eq!(apt40, id("intrusion-set", "apt40"));
        assert_ne!(apt40, id("intrusion-set", "apt41"));
        assert_ne!(
            id("threat-actor", "apt40").split("--").nth(1),
            apt40.split("--").nth(1)
        );
        let uuid = Uuid::parse_str(apt40.trim_start_matches("intrusion-set--")).expect("a UUID");
        assert_eq!(uuid.get_version_num(), 5);
    }

    #[test]
    fn candidate_kinds_follow_the_column_name() {
        use CandidateKind::*;
        for (column, kind) in [
            (Some("group"), IntrusionSet),
            (Some("threat_group"), IntrusionSet),
            (Some("state"), State),
            (Some("country"), State),
            (Some("organ"), ThreatActor),
            (None, ThreatActor),
        ] {
            assert_eq!(CandidateKind::for_column(column), kind, "{column:?}");
        }
    }

    #[test]
    fn timestamps_are_midnight_utc_of_the_day() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        let Some(Value::Date(day)) = Value::parse_date("2024-03-26") else {
            panic!("a date")
        };
        assert_eq!(timestamp(day), "2024-03-26T00:00:00.000Z");
    }
}
