//! STIX 2.1 bundles (such as MITRE ATT&CK) mapped to facts about groups, campaigns,
//! techniques and software.
//!
//! A JSON file whose top-level object has `"type": "bundle"` is read as a STIX bundle:
//! its `objects` array (`E0310` when missing) is mapped as below; nothing else in the
//! bundle is read.
//!
//! # Keys
//!
//! Every object is named in facts by its *key*: its ATT&CK id (`external_id` of the
//! `external_references` entry whose `source_name` is `"mitre-attack"`, or
//! `"mitre-mobile-attack"` or `"mitre-ics-attack"` for the other domains, such as `G0065`,
//! `C0049`, `T1190`, `T1059.001`, `S0001`) when it has one, else its STIX id
//! (`intrusion-set--…`). Keys are text values; in rules write them as strings
//! (`"G0065"`). When two objects carry the same ATT&CK id the later one is keyed by its
//! STIX id (`W0304`). Keys do not depend on object order otherwise, so they are stable
//! across ATT&CK releases.
//!
//! # Mapping
//!
//! | STIX | fact | notes |
//! |---|---|---|
//! | `intrusion-set`, `campaign`, `attack-pattern`, `malware`, `tool`, `identity`, `incident`, `threat-actor` | `stix_object(Key, Type, Name)` | `Type` is the STIX type with `-` as `_`: `intrusion_set`, `campaign`, `attack_pattern`, `malware`, `tool`, `identity`, `incident`, `threat_actor` (the last two are what `--format stix` exports incidents and their organs as) |
//! | each object above | `stix_id(Key, StixId)` | |
//! | an object with an ATT&CK id | `attack_id(Key, ExternalId)` | `Key` = `ExternalId` unless that id was taken, or is the STIX id of another object in the bundle (`W0322`) |
//! | `aliases` (intrusion sets, campaigns, STIX 2.1 software) and `x_mitre_aliases` (ATT&CK software) | `alias(Key, Alias)` | once per distinct string; ATT&CK lists the object's own name among them |
//! | campaign `first_seen` and `last_seen` (both present) | `campaign_seen(Key, FirstSeen, LastSeen)` | dates: the UTC calendar day of each timestamp |
//! | relationship `uses` | `uses(SourceKey, TargetKey)` | |
//! | relationship `attributed-to` | `attributed_to(SourceKey, TargetKey)` | |
//! | relationship `subtechnique-of` | `subtechnique_of(Key, ParentKey)` | |
//! | `created_by_ref` of an object above | `created_by(Key, IdentityKey)` | the identity that recorded the object: who speaks; it must be an identity in the bundle (`W0331`) |
//! | each entry of `external_references` | `external_reference(Key, SourceName, ExternalId, Url)` | `""` for a missing `external_id` or `url`; an entry without a string `source_name` is `W0305` |
//!
//! `rules/stix.rules` maps these relations to the vocabulary of the shipped rules
//! (`group`, `alias_of`, `uses_technique`, ...); this module knows nothing of it.
//! All arguments are text except the dates of `campaign_seen`. Each fact carries a
//! `source` naming where it came from: `MITRE ATT&CK G0065 Leviathan
//! (intrusion-set--…)` for objects with an ATT&CK id, `STIX <name> (<stix id>)` for
//! others, and for relationships `MITRE ATT&CK G0065 uses T1190 (relationship--…, citing
//! FireEye Periscope March 2018)` (`STIX …` unless both ends have ATT&CK ids; ends without
//! one are shown by name; the citations are the relationship's external references'
//! source names, sorted). A STIX
//! `confidence` (0–100) on an object or relationship becomes the confidence of its facts
//! divided by 100. Its `created` timestamp becomes the first day its facts hold
//! (`@since`), so that under `--as-of` a bundle says only what it had recorded by then
//! (a bundle is one release: what a later release removed is not there to be seen). Spans: a fact spans its JSON object; each argument spans the JSON
//! string it came from (for relationship facts, `source_ref` and `target_ref`).
//!
//! # What is skipped
//!
//! - Objects of the other types STIX 2.1 defines (marking definitions, courses of action,
//!   reports, indicators, observables, …) and relationships of other types (`mitigates`,
//!   `detects`, `revoked-by`, …) are skipped silently, as are relationships whose ends
//!   are of other types or identities. Objects of types STIX 2.1 does not define (custom
//!   `x-` types such as ATT&CK's tactics and matrices, misspelt types) are counted in one
//!   warning per file (`W0330`) and skipped.
//! - Revoked (`"revoked": true`) and deprecated (`"x_mitre_deprecated": true`) objects and
//!   relationships, and relationships touching them, are skipped and counted in one
//!   warning per file (`W0303`).
//! - An object that is not an object or lacks a string `id` or `type`, a repeated `id`, or
//!   a relationship without a string `relationship_type`, `source_ref` or `target_ref` is
//!   skipped with a warning (`W0301`); an object without a `name` is kept and named by its
//!   key (`W0301`). A relationship whose end is not in the bundle is skipped with a warning
//!   (`W0302`). An unusable alias, timestamp or confidence is ignored with a warning
//!   (`W0305`).
//!
//! When the caller declares one of these relations, its declaration must accept the
//! columns above (`E0304`/`E0305`, and that relation's facts are not loaded).

use std::borrow::Cow;

use rustc_hash::{FxHashMap, FxHashSet};

use super::tree::{self, Json, Node, Str};
use super::{Collector, FactError, InputFact, Loaded, Schema};
use crate::diagnostic::{SourceId, Span};
use crate::value::{Kind, Value};

/// The relations STIX import produces, with their column kinds.
pub const RELATIONS: [(&str, &[Kind]); 10] = [
    ("stix_object", &[Kind::Text, Kind::Text, Kind::Text]),
    ("stix_id", &[Kind::Text, Kind::Text]),
    ("attack_id", &[Kind::Text, Kind::Text]),
    ("alias", &[Kind::Text, Kind::Text]),
    ("campaign_seen", &[Kind::Text, Kind::Date, Kind::Date]),
    ("uses", &[Kind::Text, Kind::Text]),
    ("attributed_to", &[Kind::Text, Kind::Text]),
    ("subtechnique_of", &[Kind::Text, Kind::Text]),
    ("created_by", &[Kind::Text, Kind::Text]),
    (
        "external_reference",
        &[Kind::Text, Kind::Text, Kind::Text, Kind::Text],
    ),
];

/// The `source_name`s whose `external_id` is an ATT&CK id, one per ATT&CK domain.
const ATTACK_SOURCES: [&str; 3] = ["mitre-attack", "mitre-mobile-attack", "mitre-ics-attack"];

/// Every type STIX 2.1 defines (domain, cyber-observable, relationship and meta objects).
/// Those not mapped are skipped silently; any other type is counted in one `W0330`.
const STIX_TYPES: [&str; 42] = [
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
    "relationship",
    "sighting",
    "marking-definition",
    "language-content",
    "extension-definition",
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

/// Parses `text`, registered as `source`, as a STIX 2.1 bundle.
pub fn parse(text: &str, source: SourceId, schema: &dyn Schema) -> Loaded {
    match tree::parse(text) {
        Ok(document) => from_tree(&document, source, schema),
        Err(error) => Loaded {
            diagnostics: vec![super::json::syntax_error(&error, source)],
            ..Loaded::default()
        },
    }
}

/// Whether a parsed JSON document is a STIX bundle (`"type": "bundle"` at the top).
pub(crate) fn is_bundle(document: &Json<'_>) -> bool {
    document
        .get("type")
        .and_then(Json::as_str)
        .is_some_and(|t| t.is("bundle"))
}

/// Maps a parsed bundle to facts.
pub(crate) fn from_tree(document: &Json<'_>, source: SourceId, schema: &dyn Schema) -> Loaded {
    let mut importer = Importer {
        source,
        ids: FxHashMap::default(),
        objects: Vec::new(),
        attack_ids: FxHashMap::default(),
        stix_ids: Default::default(),
        facts: Vec::new(),
        diagnostics: Collector::new(),
        skipped: Skipped::default(),
        unknown: Skipped::default(),
        creators: Vec::new(),
    };
    let at = document.get("objects").unwrap_or(document);
    match at.as_array() {
        Some(elements) => importer.import(elements),
        None => importer.diagnostics.push(
            FactError::NoObjects {
                span: importer.span(at),
            }
            .into(),
        ),
    }
    importer.report_skipped();
    importer.report_unknown();
    importer.check_schema(schema);
    Loaded {
        facts: importer.facts,
        tables: Vec::new(),
        rule_files: Vec::new(),
        diagnostics: importer.diagnostics.finish(),
    }
}

/// What a STIX id refers to.
#[derive(Clone, Copy)]
enum Entry {
    /// A mapped object: index into `Importer::objects`.
    Kept(usize),
    /// A revoked or deprecated object.
    Skipped,
    /// An object of a type that is not mapped (or a relationship).
    Ignored,
}

/// A mapped object, as relationships need it.
struct Object {
    key: String,
    /// The facts' `Type` (`intrusion_set`, `identity`, ...).
    mapped: &'static str,
    /// Its ATT&CK id, else its name: how a relationship's `source` names it.
    label: String,
    has_attack_id: bool,
}

/// Revoked or deprecated things skipped, for the `W0303` summary.
#[derive(Default)]
struct Skipped {
    /// Per STIX type, in order of first appearance.
    objects: Vec<(String, usize)>,
    relationships: usize,
    first: Option<Span>,
}

impl Skipped {
    fn count(&mut self, stix_type: &str, span: Span) {
        self.first.get_or_insert(span);
        match self.objects.iter_mut().find(|(t, _)| t == stix_type) {
            Some((_, n)) => *n += 1,
            None => self.objects.push((stix_type.to_owned(), 1)),
        }
    }
}

struct Importer<'a> {
    source: SourceId,
    ids: FxHashMap<Cow<'a, str>, Entry>,
    objects: Vec<Object>,
    /// ATT&CK id -> span of its first use.
    attack_ids: FxHashMap<String, Span>,
    /// The `id` of every object in the bundle.
    stix_ids: rustc_hash::FxHashSet<String>,
    facts: Vec<InputFact>,
    diagnostics: Collector,
    skipped: Skipped,
    /// Objects of types STIX 2.1 does not define, for the `W0330` summary.
    unknown: Skipped,
    /// `created_by_ref`s, resolved once every object is known.
    creators: Vec<Creator>,
}

/// A mapped object's `created_by_ref`, waiting for the identity it names.
struct Creator {
    key: String,
    key_span: Span,
    reference: String,
    reference_span: Span,
    span: Span,
    meta: Meta,
}

/// The facts' `Type` for each mapped STIX type.
fn mapped_type(stix_type: &str) -> Option<&'static str> {
    match stix_type {
        "intrusion-set" => Some("intrusion_set"),
        "campaign" => Some("campaign"),
        "attack-pattern" => Some("attack_pattern"),
        "malware" => Some("malware"),
        "tool" => Some("tool"),
        "identity" => Some("identity"),
        // What `--format stix` exports: incidents and their candidates.
        "incident" => Some("incident"),
        "threat-actor" => Some("threat_actor"),
        _ => None,
    }
}

/// The properties the importer reads, found in one pass over an object's members; of a
/// repeated key the first wins, as with [`Json::get`].
#[derive(Clone, Copy, Default)]
struct Properties<'t, 'a> {
    id: Option<&'t Json<'a>>,
    stix_type: Option<&'t Json<'a>>,
    name: Option<&'t Json<'a>>,
    revoked: Option<&'t Json<'a>>,
    deprecated: Option<&'t Json<'a>>,
    external_references: Option<&'t Json<'a>>,
    aliases: Option<&'t Json<'a>>,
    x_mitre_aliases: Option<&'t Json<'a>>,
    confidence: Option<&'t Json<'a>>,
    first_seen: Option<&'t Json<'a>>,
    last_seen: Option<&'t Json<'a>>,
    created: Option<&'t Json<'a>>,
    created_by_ref: Option<&'t Json<'a>>,
    relationship_type: Option<&'t Json<'a>>,
    source_ref: Option<&'t Json<'a>>,
    target_ref: Option<&'t Json<'a>>,
}

impl<'t, 'a> Properties<'t, 'a> {
    fn of(members: &'t [(Str<'a>, Json<'a>)]) -> Properties<'t, 'a> {
        let mut properties = Properties::default();
        for (key, value) in members {
            let slot = match &*key.decode() {
                "id" => &mut properties.id,
                "type" => &mut properties.stix_type,
                "name" => &mut properties.name,
                "revoked" => &mut properties.revoked,
                "x_mitre_deprecated" => &mut properties.deprecated,
                "external_references" => &mut properties.external_references,
                "aliases" => &mut properties.aliases,
                "x_mitre_aliases" => &mut properties.x_mitre_aliases,
                "confidence" => &mut properties.confidence,
                "first_seen" => &mut properties.first_seen,
                "last_seen" => &mut properties.last_seen,
                "created" => &mut properties.created,
                "created_by_ref" => &mut properties.created_by_ref,
                "relationship_type" => &mut properties.relationship_type,
                "source_ref" => &mut properties.source_ref,
                "target_ref" => &mut properties.target_ref,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        properties
    }

    fn revoked_or_deprecated(&self) -> bool {
        self.revoked.is_some_and(Json::is_true) || self.deprecated.is_some_and(Json::is_true)
    }

    /// The first ATT&CK id among the external references.
    fn attack_id(&self) -> Option<&'t Str<'a>> {
        self.external_references
            .and_then(Json::as_array)
            .unwrap_or_default()
            .iter()
            .filter(|reference| {
                reference
                    .get("source_name")
                    .and_then(Json::as_str)
                    .is_some_and(|s| ATTACK_SOURCES.iter().any(|name| s.is(name)))
            })
            .find_map(|reference| reference.get("external_id").and_then(Json::as_str))
    }
}

impl<'a> Importer<'a> {
    fn span(&self, json: &Json<'_>) -> Span {
        Span::new(self.source, json.start, json.end)
    }

    fn str_span(&self, s: &Str<'_>) -> Span {
        let (start, end) = s.range();
        Span::new(self.source, start, end)
    }

    fn warn(&mut self, error: FactError) {
        self.diagnostics.push(error.into());
    }

    fn malformed(&mut self, problem: String, consequence: &'static str, span: Span) {
        self.warn(FactError::MalformedObject {
            problem,
            consequence,
            span,
        });
    }

    fn fact(&mut self, relation: &str, args: Vec<(Value, Span)>, span: Span, meta: &Meta) {
        let (args, arg_spans) = args.into_iter().unzip();
        self.facts.push(InputFact {
            relation: relation.to_owned(),
            args,
            arg_spans,
            span,
            confidence: meta.confidence,
            source: Some(meta.source.clone()),
            since: meta.since,
            until: None,
        });
    }

    /// Maps all objects first, so relationships may refer to objects after them.
    fn import(&mut self, elements: &'a [Json<'a>]) {
        self.ids.reserve(elements.len());
        // Keys are ATT&CK ids and STIX ids in one space: an ATT&CK id that is also some
        // object's STIX id cannot be a key.
        self.stix_ids = elements
            .iter()
            .filter_map(|element| {
                let members = element.as_object()?;
                Properties::of(members).id.and_then(Json::as_str)
            })
            .map(|id| id.decode().into_owned())
            .collect();
        let mut relationships = Vec::new();
        for element in elements {
            let span = self.span(element);
            let Some(members) = element.as_object() else {
                let problem = format!("found {} in `objects`", element.kind_name());
                self.malformed(problem, "skipped", span);
                continue;
            };
            let properties = Properties::of(members);
            let Some(id) = properties.id.and_then(Json::as_str) else {
                let problem = "no string `id`".to_owned();
                self.malformed(problem, "the object is skipped", span);
                continue;
            };
            let stix_id = id.decode();
            let Some(stix_type) = properties.stix_type.and_then(Json::as_str) else {
                let problem = format!("`{stix_id}` has no string `type`");
                self.malformed(problem, "the object is skipped", self.str_span(id));
                continue;
            };
            if self.ids.contains_key(&stix_id) {
                let problem = format!("`{stix_id}` appears more than once");
                self.malformed(problem, "this object is skipped", self.str_span(id));
                continue;
            }
            let stix_type = stix_type.decode();
            let entry = if stix_type == "relationship" {
                relationships.push((element, id, properties));
                Entry::Ignored
            } else if let Some(mapped) = mapped_type(&stix_type) {
                if properties.revoked_or_deprecated() {
                    self.skipped.count(&stix_type, self.str_span(id));
                    Entry::Skipped
                } else {
                    Entry::Kept(self.object(element, id, &stix_id, mapped, &properties))
                }
            } else {
                if !STIX_TYPES.contains(&&*stix_type) {
                    let type_span = properties.stix_type.map_or(span, |t| self.span(t));
                    self.unknown.count(&stix_type, type_span);
                }
                Entry::Ignored
            };
            self.ids.insert(stix_id, entry);
        }
        for (relationship, id, properties) in relationships {
            self.relationship(relationship, id, &properties);
        }
        self.resolve_creators();
    }

    /// The `created_by` facts: each `created_by_ref` must name an identity in the bundle.
    fn resolve_creators(&mut self) {
        for creator in std::mem::take(&mut self.creators) {
            let identity = match self.ids.get(creator.reference.as_str()) {
                Some(&Entry::Kept(index)) if self.objects[index].mapped == "identity" => {
                    self.objects[index].key.clone()
                }
                _ => {
                    self.warn(FactError::UnknownCreator {
                        id: creator.reference,
                        span: creator.reference_span,
                    });
                    continue;
                }
            };
            self.fact(
                "created_by",
                vec![
                    (Value::text(&creator.key), creator.key_span),
                    (Value::text(&identity), creator.reference_span),
                ],
                creator.span,
                &creator.meta,
            );
        }
    }

    /// One `external_reference` fact per usable entry of `external_references`.
    fn external_references(
        &mut self,
        key: &str,
        key_span: Span,
        list: &Json<'_>,
        span: Span,
        meta: &Meta,
    ) {
        let property = "external_references";
        let Some(entries) = list.as_array() else {
            self.warn(FactError::BadProperty {
                property,
                problem: format!("expected an array of objects, found {}", list.kind_name()),
                span: self.span(list),
            });
            return;
        };
        for entry in entries {
            let Some(name) = entry.get("source_name").and_then(Json::as_str) else {
                self.warn(FactError::BadProperty {
                    property,
                    problem: "an entry has no string `source_name`".to_owned(),
                    span: self.span(entry),
                });
                continue;
            };
            let mut args = vec![
                (Value::text(key), key_span),
                (Value::text(&name.decode()), self.str_span(name)),
            ];
            for member in ["external_id", "url"] {
                args.push(match entry.get(member).and_then(Json::as_str) {
                    Some(value) => (Value::text(&value.decode()), self.str_span(value)),
                    None => (Value::text(""), self.span(entry)),
                });
            }
            self.fact("external_reference", args, span, meta);
        }
    }

    /// Maps one object and returns its index in `objects`.
    fn object(
        &mut self,
        object: &Json<'a>,
        id: &Str<'a>,
        stix_id: &str,
        mapped: &'static str,
        properties: &Properties<'_, 'a>,
    ) -> usize {
        let id_span = self.str_span(id);
        let span = self.span(object);
        let external = properties
            .attack_id()
            .map(|e| (e.decode().into_owned(), self.str_span(e)));
        let (key, key_span) = match &external {
            Some((external_id, external_span))
                if external_id != stix_id && self.stix_ids.contains(external_id) =>
            {
                self.warn(FactError::AttackIdIsStixId {
                    external_id: external_id.clone(),
                    stix_id: stix_id.to_owned(),
                    span: *external_span,
                });
                (stix_id.to_owned(), id_span)
            }
            Some((external_id, external_span)) => match self.attack_ids.get(external_id) {
                None => {
                    self.attack_ids.insert(external_id.clone(), *external_span);
                    (external_id.clone(), *external_span)
                }
                Some(&first) => {
                    self.warn(FactError::DuplicateAttackId {
                        external_id: external_id.clone(),
                        stix_id: stix_id.to_owned(),
                        span: *external_span,
                        first,
                    });
                    (stix_id.to_owned(), id_span)
                }
            },
            None => (stix_id.to_owned(), id_span),
        };
        let (name, name_span) = match properties.name.and_then(Json::as_str) {
            Some(name) => (name.decode().into_owned(), self.str_span(name)),
            None => {
                let problem = format!("`{stix_id}` has no string `name`");
                self.malformed(problem, "kept, named by its key", id_span);
                (key.clone(), key_span)
            }
        };
        let source = match &external {
            Some((external_id, _)) => format!("MITRE ATT&CK {external_id} {name} ({stix_id})"),
            None => format!("STIX {name} ({stix_id})"),
        };
        let meta = Meta {
            source,
            confidence: self.confidence(properties.confidence),
            since: self.created(properties.created),
        };
        let type_span = properties.stix_type.map_or(span, |t| self.span(t));
        let key_arg = || (Value::text(&key), key_span);
        self.fact(
            "stix_object",
            vec![
                key_arg(),
                (Value::text(mapped), type_span),
                (Value::text(&name), name_span),
            ],
            span,
            &meta,
        );
        self.fact(
            "stix_id",
            vec![key_arg(), (Value::text(stix_id), id_span)],
            span,
            &meta,
        );
        if let Some((external_id, external_span)) = &external {
            self.fact(
                "attack_id",
                vec![key_arg(), (Value::text(external_id), *external_span)],
                span,
                &meta,
            );
        }
        let mut aliases: FxHashSet<Cow<'a, str>> = FxHashSet::default();
        let lists = [
            ("aliases", properties.aliases),
            ("x_mitre_aliases", properties.x_mitre_aliases),
        ];
        for (property, list) in lists {
            let Some(list) = list else {
                continue;
            };
            let Some(elements) = list.as_array() else {
                self.warn(FactError::BadProperty {
                    property,
                    problem: format!("expected an array of strings, found {}", list.kind_name()),
                    span: self.span(list),
                });
                continue;
            };
            for element in elements {
                let Some(alias) = element.as_str() else {
                    self.warn(FactError::BadProperty {
                        property,
                        problem: format!("expected a string alias, found {}", element.kind_name()),
                        span: self.span(element),
                    });
                    continue;
                };
                let text = alias.decode();
                if aliases.insert(text.clone()) {
                    let alias_span = self.str_span(alias);
                    self.fact(
                        "alias",
                        vec![key_arg(), (Value::text(&text), alias_span)],
                        span,
                        &meta,
                    );
                }
            }
        }
        if let Some(list) = properties.external_references {
            self.external_references(&key, key_span, list, span, &meta);
        }
        if let Some(reference) = properties.created_by_ref {
            match reference.as_str() {
                Some(reference) => self.creators.push(Creator {
                    key: key.clone(),
                    key_span,
                    reference: reference.decode().into_owned(),
                    reference_span: self.str_span(reference),
                    span,
                    meta: meta.clone(),
                }),
                None => self.warn(FactError::BadProperty {
                    property: "created_by_ref",
                    problem: format!("expected an identity id, found {}", reference.kind_name()),
                    span: self.span(reference),
                }),
            }
        }
        if mapped == "campaign" {
            let first = self.timestamp(properties.first_seen, "first_seen");
            let last = self.timestamp(properties.last_seen, "last_seen");
            if let (Some(first), Some(last)) = (first, last) {
                self.fact("campaign_seen", vec![key_arg(), first, last], span, &meta);
            }
        }
        self.objects.push(Object {
            mapped,
            label: external
                .as_ref()
                .map_or_else(|| name.clone(), |(e, _)| e.clone()),
            has_attack_id: external.is_some(),
            key,
        });
        self.objects.len() - 1
    }

    /// The date of a timestamp property (`YYYY-MM-DDTHH:MM:SS[.s]Z`), with its span.
    fn timestamp(
        &mut self,
        value: Option<&Json<'_>>,
        property: &'static str,
    ) -> Option<(Value, Span)> {
        let value = value?;
        let date = value.as_str().and_then(|s| {
            let text = s.decode();
            let day = text.get(..10)?;
            let rest = &text[10..];
            (rest.is_empty() || rest.starts_with('T'))
                .then(|| Value::parse_date(day))
                .flatten()
        });
        if date.is_none() {
            self.warn(FactError::BadProperty {
                property,
                problem: "expected a timestamp such as `2021-08-01T00:00:00Z`".to_owned(),
                span: self.span(value),
            });
        }
        Some((date?, self.span(value)))
    }

    /// The day of a `created` timestamp, as days since 1970-01-01.
    fn created(&mut self, value: Option<&Json<'_>>) -> Option<i32> {
        match self.timestamp(value, "created")?.0 {
            Value::Date(day) => Some(day),
            _ => None,
        }
    }

    /// A STIX `confidence` (0-100) as a confidence in [0, 1].
    fn confidence(&mut self, value: Option<&Json<'_>>) -> Option<f64> {
        let value = value?;
        let confidence = match value.node {
            Node::Number(raw) => raw
                .parse::<f64>()
                .ok()
                .filter(|c| (0.0..=100.0).contains(c)),
            _ => None,
        };
        if confidence.is_none() {
            self.warn(FactError::BadProperty {
                property: "confidence",
                problem: "expected a number from 0 to 100".to_owned(),
                span: self.span(value),
            });
        }
        Some(confidence? / 100.0)
    }

    fn relationship(
        &mut self,
        relationship: &Json<'a>,
        id: &Str<'a>,
        properties: &Properties<'_, 'a>,
    ) {
        let id_span = self.str_span(id);
        let span = self.span(relationship);
        let Some(kind) = properties.relationship_type.and_then(Json::as_str) else {
            let problem = format!("`{}` has no string `relationship_type`", id.decode());
            self.malformed(problem, "the relationship is skipped", id_span);
            return;
        };
        if properties.revoked_or_deprecated() {
            self.skipped.first.get_or_insert(id_span);
            self.skipped.relationships += 1;
            return;
        }
        let kind = kind.decode();
        let relation = match kind.as_ref() {
            "uses" => "uses",
            "attributed-to" => "attributed_to",
            "subtechnique-of" => "subtechnique_of",
            _ => return,
        };
        let mut ends = Vec::with_capacity(2);
        for (property, reference) in [
            ("source_ref", properties.source_ref),
            ("target_ref", properties.target_ref),
        ] {
            let Some(reference) = reference.and_then(Json::as_str) else {
                let problem = format!("`{}` has no string `{property}`", id.decode());
                self.malformed(problem, "the relationship is skipped", id_span);
                return;
            };
            ends.push((reference.decode(), self.str_span(reference)));
        }
        let mut resolved = Vec::with_capacity(2);
        for (reference, reference_span) in ends {
            match self.ids.get(&reference) {
                Some(&Entry::Kept(index)) => resolved.push((index, reference_span)),
                Some(Entry::Skipped) => {
                    self.skipped.first.get_or_insert(id_span);
                    self.skipped.relationships += 1;
                    return;
                }
                Some(Entry::Ignored) => return,
                None => {
                    self.warn(FactError::UnknownRef {
                        id: reference.into_owned(),
                        span: reference_span,
                    });
                    return;
                }
            }
        }
        let [(source, source_span), (target, target_span)] = resolved[..] else {
            return;
        };
        let (source, target) = (&self.objects[source], &self.objects[target]);
        // Identities are mapped as the parties that record objects, not as their ends.
        if source.mapped == "identity" || target.mapped == "identity" {
            return;
        }
        let origin = if source.has_attack_id && target.has_attack_id {
            "MITRE ATT&CK"
        } else {
            "STIX"
        };
        let mut cited: Vec<String> = properties
            .external_references
            .and_then(Json::as_array)
            .unwrap_or_default()
            .iter()
            .filter_map(|reference| reference.get("source_name").and_then(Json::as_str))
            .map(|name| name.decode().into_owned())
            .collect();
        cited.sort();
        cited.dedup();
        let citing = if cited.is_empty() {
            String::new()
        } else {
            format!(", citing {}", cited.join("; "))
        };
        let description = format!(
            "{origin} {} {kind} {} ({}{citing})",
            source.label,
            target.label,
            id.decode()
        );
        let args = vec![
            (Value::text(&source.key), source_span),
            (Value::text(&target.key), target_span),
        ];
        let meta = Meta {
            source: description,
            confidence: self.confidence(properties.confidence),
            since: self.created(properties.created),
        };
        self.fact(relation, args, span, &meta);
    }

    /// The one `W0330` summary of objects of unknown types.
    fn report_unknown(&mut self) {
        let Some(span) = self.unknown.first else {
            return;
        };
        let objects = self.unknown.objects.iter().map(|(_, n)| n).sum();
        let breakdown = self
            .unknown
            .objects
            .iter()
            .map(|(stix_type, n)| format!("{n} {stix_type}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.warn(FactError::UnknownTypes {
            objects,
            breakdown,
            span,
        });
    }

    /// The one `W0303` summary of revoked and deprecated things skipped.
    fn report_skipped(&mut self) {
        let Some(span) = self.skipped.first else {
            return;
        };
        let objects = self.skipped.objects.iter().map(|(_, n)| n).sum();
        let mut parts: Vec<String> = self
            .skipped
            .objects
            .iter()
            .map(|(stix_type, n)| format!("{n} {stix_type}"))
            .collect();
        if self.skipped.relationships > 0 {
            parts.push(format!("{} relationship", self.skipped.relationships));
        }
        self.warn(FactError::Revoked {
            objects,
            relationships: self.skipped.relationships,
            breakdown: parts.join(", "),
            span,
        });
    }

    /// Drops the facts of relations whose declaration does not fit what STIX import
    /// produces, reporting each such relation once.
    fn check_schema(&mut self, schema: &dyn Schema) {
        super::drop_misfits(
            "STIX",
            &RELATIONS,
            schema,
            &mut self.facts,
            &mut self.diagnostics,
        );
    }
}

/// What every fact from one STIX object or relationship shares.
#[derive(Clone)]
struct Meta {
    source: String,
    confidence: Option<f64>,
    /// The day of the object's or relationship's `created` timestamp.
    since: Option<i32>,
}

#[cfg(test)]
mod tests {
    use super::super::tests::schema;
    use super::super::{parse_json, render, NoSchema};
    use super::*;
    use crate::diagnostic::Sources;

    fn check(text: &str, declared: &[(&str, &[Option<Kind>])], expected: &str) {
        let mut sources = Sources::default();
        let source = sources.add("b.json", text);
        let loaded = if declared.is_empty() {
            parse_json(text, source, &NoSchema)
        } else {
            parse_json(text, source, &schema(declared))
        };
        assert_eq!(render(&loaded, &sources).trim_end(), expected.trim());
    }

    /// Loads a bundle of `tests/data` (see its README): a `.json` file through
    /// [`super::super::load`], a `.json.gz` one decompressed first.
    fn load_sample(name: &str) -> (Sources, Loaded) {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        let mut sources = Sources::default();
        let loaded = match name.strip_suffix(".gz") {
            None => super::super::load(std::path::Path::new(&path), &mut sources, &NoSchema),
            Some(inner) => {
                use std::io::Read as _;
                let file = std::fs::File::open(&path).expect("tests/data holds the sample");
                let mut text = String::new();
                flate2::read::GzDecoder::new(file)
                    .read_to_string(&mut text)
                    .expect("the sample is gzip-compressed UTF-8");
                let source = sources.add(inner, text);
                parse_json(sources.text(source), source, &NoSchema)
            }
        };
        (sources, loaded)
    }

    fn count(loaded: &Loaded, relation: &str) -> usize {
        loaded
            .facts
            .iter()
            .filter(|f| f.relation == relation)
            .count()
    }

    /// The rendered facts of `relation` whose first argument is `key`, sorted.
    fn facts_of(loaded: &Loaded, relation: &str, key: &str) -> Vec<String> {
        let mut facts: Vec<String> = loaded
            .facts
            .iter()
            .filter(|f| {
                f.relation == relation && matches!(&f.args[0], Value::Text(k) if &**k == key)
            })
            .map(|f| {
                f.args
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        facts.sort();
        facts
    }

    #[test]
    fn apt40_sample_counts() {
        let (sources, loaded) = load_sample("attack-apt40-G0065.stix21.json");
        assert_eq!(loaded.diagnostics, []);
        // Expected numbers computed from the file with Python (json module): 117 mapped
        // objects (1 intrusion-set, 1 campaign, 97 attack-patterns, 10 malware, 7 tools,
        // all with ATT&CK ids, and MITRE's identity); 36 distinct aliases; 93 `uses`, 1
        // `attributed-to`, 44 `subtechnique-of` relationships; 116 `created_by_ref`s
        // naming the identity; 625 external references.
        let counts: Vec<(&str, usize)> = RELATIONS
            .iter()
            .map(|(relation, _)| (*relation, count(&loaded, relation)))
            .collect();
        assert_eq!(
            counts,
            [
                ("stix_object", 117),
                ("stix_id", 117),
                ("attack_id", 116),
                ("alias", 36),
                ("campaign_seen", 1),
                ("uses", 93),
                ("attributed_to", 1),
                ("subtechnique_of", 44),
                ("created_by", 116),
                ("external_reference", 625),
            ]
        );
        assert_eq!(loaded.facts.len(), 1266);
        assert_eq!(
            facts_of(&loaded, "created_by", "G0065"),
            ["\"G0065\", \"identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5\""]
        );
        assert_eq!(
            facts_of(&loaded, "stix_object", "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"),
            ["\"identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5\", identity, \"The MITRE Corporation\""]
        );
        assert!(facts_of(&loaded, "external_reference", "G0065").contains(
            &"\"G0065\", \"mitre-attack\", \"G0065\", \"https://attack.mitre.org/groups/G0065\""
                .to_owned()
        ));
        assert_eq!(facts_of(&loaded, "alias", "G0065").len(), 9);
        assert!(facts_of(&loaded, "alias", "G0065").contains(&"\"G0065\", \"APT40\"".to_owned()));
        assert_eq!(facts_of(&loaded, "uses", "G0065").len(), 67);
        assert_eq!(
            facts_of(&loaded, "stix_object", "G0065"),
            ["\"G0065\", intrusion_set, \"Leviathan\""]
        );
        assert_eq!(
            facts_of(&loaded, "attributed_to", "C0049"),
            ["\"C0049\", \"G0065\""]
        );
        assert_eq!(
            facts_of(&loaded, "campaign_seen", "C0049"),
            ["\"C0049\", 2022-04-01, 2022-09-01"]
        );
        assert_eq!(
            facts_of(&loaded, "subtechnique_of", "T1059.001"),
            ["\"T1059.001\", \"T1059\""]
        );
        let group = loaded
            .facts
            .iter()
            .find(|f| f.relation == "stix_object" && f.args[0].to_string() == "\"G0065\"")
            .expect("G0065 is in the sample");
        assert_eq!(
            group.source.as_deref(),
            Some("MITRE ATT&CK G0065 Leviathan (intrusion-set--7113eaa5-ba79-4fb3-b68a-398ee9cd698e)")
        );
        assert_eq!(sources.snippet(group.arg_spans[0]), "\"G0065\"");
        assert_eq!(sources.snippet(group.arg_spans[1]), "\"intrusion-set\"");
        assert_eq!(sources.snippet(group.arg_spans[2]), "\"Leviathan\"");
        assert!(sources.snippet(group.span).starts_with('{'));
        let attributed = loaded
            .facts
            .iter()
            .find(|f| f.relation == "attributed_to")
            .expect("C0049 is attributed to G0065");
        assert!(attributed.source.as_deref().is_some_and(
            |s| s.starts_with("MITRE ATT&CK C0049 attributed-to G0065 (relationship--")
        ));
        assert!(sources
            .snippet(attributed.arg_spans[0])
            .starts_with("\"campaign--"));
    }

    #[test]
    fn full_enterprise_bundle_counts() {
        let (_, loaded) = load_sample("attack-enterprise-compact.stix21.json.gz");
        assert_eq!(loaded.diagnostics, []);
        // From the data README and Python: 1,699 mapped objects with ATT&CK ids and
        // MITRE's identity, 1,671 distinct aliases, 52 campaigns with both dates, 17,270
        // `uses`, 25 `attributed-to`, 475 `subtechnique-of`, 1,699 `created_by_ref`s,
        // 7,811 external references.
        let counts: Vec<usize> = RELATIONS
            .iter()
            .map(|(relation, _)| count(&loaded, relation))
            .collect();
        assert_eq!(
            counts,
            [1700, 1700, 1699, 1671, 52, 17270, 25, 475, 1699, 7811]
        );
    }

    const OBJECTS: &str = r#"{"type": "bundle", "id": "bundle--1", "objects": [
{"type": "intrusion-set", "id": "intrusion-set--a", "name": "Alpha", "aliases": ["Alpha", "A1", "A1"],
 "external_references": [{"source_name": "other", "external_id": "X1"}, {"source_name": "mitre-attack", "external_id": "G9001"}]},
{"type": "malware", "id": "malware--m", "name": "Mal", "x_mitre_aliases": ["Mal", 7], "confidence": 80},
{"type": "campaign", "id": "campaign--c", "name": "Camp", "first_seen": "2020-01-02T05:00:00.000Z", "last_seen": "soon"},
{"type": "attack-pattern", "id": "attack-pattern--old", "name": "Old", "revoked": true},
{"type": "tool", "id": "tool--dep", "name": "Dep", "x_mitre_deprecated": true},
{"type": "identity", "id": "identity--i", "name": "MITRE"},
{"type": "tool", "id": "tool--t", "external_references": [{"source_name": "mitre-attack", "external_id": "G9001"}]},
{"type": "campaign", "name": "no id"},
{"type": "relationship", "id": "relationship--1", "relationship_type": "uses", "source_ref": "intrusion-set--a", "target_ref": "malware--m"},
{"type": "relationship", "id": "relationship--2", "relationship_type": "attributed-to", "source_ref": "campaign--c", "target_ref": "intrusion-set--a", "confidence": 50},
{"type": "relationship", "id": "relationship--3", "relationship_type": "uses", "source_ref": "intrusion-set--a", "target_ref": "attack-pattern--old"},
{"type": "relationship", "id": "relationship--4", "relationship_type": "uses", "source_ref": "intrusion-set--a", "target_ref": "tool--gone"},
{"type": "relationship", "id": "relationship--5", "relationship_type": "created-by", "source_ref": "intrusion-set--a", "target_ref": "identity--i"},
{"type": "relationship", "id": "relationship--6", "relationship_type": "uses", "source_ref": "intrusion-set--a", "target_ref": "identity--i"},
{"type": "relationship", "id": "relationship--7", "relationship_type": "uses", "target_ref": "malware--m"},
{"type": "relationship", "id": "relationship--8", "relationship_type": "uses", "source_ref": "campaign--c", "target_ref": "tool--t"},
{"type": "malware", "id": "malware--m", "name": "Twin"},
3
]}"#;

    #[test]
    fn an_attack_id_equal_to_another_objects_stix_id_is_not_a_key() {
        // Before, both objects were keyed `malware--m`, giving `uses(malware--m,
        // malware--m)` for a relationship between them.
        let bundle = r#"{"type": "bundle", "objects": [
{"type": "tool", "id": "tool--t", "name": "T", "external_references": [{"source_name": "mitre-attack", "external_id": "malware--m"}]},
{"type": "malware", "id": "malware--m", "name": "M"},
{"type": "relationship", "id": "relationship--1", "relationship_type": "uses", "source_ref": "tool--t", "target_ref": "malware--m"}
]}"#;
        let mut sources = Sources::default();
        let source = sources.add("b.json", bundle);
        let loaded = parse_json(bundle, source, &NoSchema);
        assert_eq!(
            facts_of(&loaded, "uses", "tool--t"),
            ["\"tool--t\", \"malware--m\""]
        );
        assert_eq!(
            facts_of(&loaded, "attack_id", "tool--t"),
            ["\"tool--t\", \"malware--m\""]
        );
        let codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["W0322"]);
    }

    #[test]
    fn mapping_and_warnings_on_a_small_bundle() {
        check(
            OBJECTS,
            &[],
            r#"
b.json:2:1 stix_object("G9001", intrusion_set, "Alpha") @source("MITRE ATT&CK G9001 Alpha (intrusion-set--a)")
b.json:2:1 stix_id("G9001", "intrusion-set--a") @source("MITRE ATT&CK G9001 Alpha (intrusion-set--a)")
b.json:2:1 attack_id("G9001", "G9001") @source("MITRE ATT&CK G9001 Alpha (intrusion-set--a)")
b.json:2:1 alias("G9001", "Alpha") @source("MITRE ATT&CK G9001 Alpha (intrusion-set--a)")
b.json:2:1 alias("G9001", "A1") @source("MITRE ATT&CK G9001 Alpha (intrusion-set--a)")
b.json:2:1 external_reference("G9001", other, "X1", "") @source("MITRE ATT&CK G9001 Alpha (intrusion-set--a)")
b.json:2:1 external_reference("G9001", "mitre-attack", "G9001", "") @source("MITRE ATT&CK G9001 Alpha (intrusion-set--a)")
b.json:4:1 stix_object("malware--m", malware, "Mal") @confidence(0.8) @source("STIX Mal (malware--m)")
b.json:4:1 stix_id("malware--m", "malware--m") @confidence(0.8) @source("STIX Mal (malware--m)")
b.json:4:1 alias("malware--m", "Mal") @confidence(0.8) @source("STIX Mal (malware--m)")
b.json:5:1 stix_object("campaign--c", campaign, "Camp") @source("STIX Camp (campaign--c)")
b.json:5:1 stix_id("campaign--c", "campaign--c") @source("STIX Camp (campaign--c)")
b.json:8:1 stix_object("identity--i", identity, "MITRE") @source("STIX MITRE (identity--i)")
b.json:8:1 stix_id("identity--i", "identity--i") @source("STIX MITRE (identity--i)")
b.json:9:1 stix_object("tool--t", tool, "tool--t") @source("MITRE ATT&CK G9001 tool--t (tool--t)")
b.json:9:1 stix_id("tool--t", "tool--t") @source("MITRE ATT&CK G9001 tool--t (tool--t)")
b.json:9:1 attack_id("tool--t", "G9001") @source("MITRE ATT&CK G9001 tool--t (tool--t)")
b.json:9:1 external_reference("tool--t", "mitre-attack", "G9001", "") @source("MITRE ATT&CK G9001 tool--t (tool--t)")
b.json:11:1 uses("G9001", "malware--m") @source("STIX G9001 uses Mal (relationship--1)")
b.json:12:1 attributed_to("campaign--c", "G9001") @confidence(0.5) @source("STIX Camp attributed-to G9001 (relationship--2)")
b.json:18:1 uses("campaign--c", "tool--t") @source("STIX Camp uses G9001 (relationship--8)")
warning[W0305]: STIX property `x_mitre_aliases` ignored: expected a string alias, found a number b.json:4:83
  label: ignored
warning[W0305]: STIX property `last_seen` ignored: expected a timestamp such as `2021-08-01T00:00:00Z` b.json:5:114
  label: ignored
warning[W0304]: ATT&CK id `G9001` is used by two STIX objects b.json:9:106
  label: this object is keyed by its STIX id `tool--t` instead
  see b.json:3:120: first used here
warning[W0301]: malformed STIX object: `tool--t` has no string `name` b.json:9:24
  label: kept, named by its key
warning[W0301]: malformed STIX object: no string `id` b.json:10:1
  label: the object is skipped
warning[W0301]: malformed STIX object: `malware--m` appears more than once b.json:19:27
  label: this object is skipped
warning[W0301]: malformed STIX object: found a number in `objects` b.json:20:1
  label: skipped
warning[W0302]: STIX relationship refers to `tool--gone`, which is not in the bundle b.json:14:128
  label: the relationship is skipped
warning[W0301]: malformed STIX object: `relationship--7` has no string `source_ref` b.json:17:32
  label: the relationship is skipped
warning[W0303]: skipped revoked or deprecated STIX data: 2 objects, 1 relationship b.json:6:34
  label: the first one skipped
  note: skipped: 1 attack-pattern, 1 tool, 1 relationship
  note: revoked and deprecated ATT&CK objects have been replaced or withdrawn; they and relationships touching them are not loaded
"#,
        );
    }

    #[test]
    fn creators_references_citations_and_unknown_types() {
        check(
            r#"{"type": "bundle", "objects": [
{"type": "identity", "id": "identity--v", "name": "Vendor", "identity_class": "organization"},
{"type": "intrusion-set", "id": "intrusion-set--a", "name": "A", "created_by_ref": "identity--v", "external_references": [{"source_name": "Vendor blog", "url": "https://example.com/a"}, {"url": "no name"}]},
{"type": "tool", "id": "tool--t", "name": "T", "created_by_ref": "identity--gone", "external_references": {}},
{"type": "malware", "id": "malware--m", "name": "M", "created_by_ref": 7},
{"type": "x-vendor-note", "id": "x-vendor-note--1"},
{"type": "intrusion_set", "id": "intrusion_set--2"},
{"type": "x-vendor-note", "id": "x-vendor-note--3"},
{"type": "marking-definition", "id": "marking-definition--1"},
{"type": "relationship", "id": "relationship--1", "relationship_type": "uses", "source_ref": "intrusion-set--a", "target_ref": "tool--t", "external_references": [{"source_name": "Report B"}, {"source_name": "Report A"}, {"source_name": "Report B"}]},
{"type": "relationship", "id": "relationship--2", "relationship_type": "uses", "source_ref": "identity--v", "target_ref": "tool--t"}]}"#,
            &[],
            r#"
b.json:2:1 stix_object("identity--v", identity, "Vendor") @source("STIX Vendor (identity--v)")
b.json:2:1 stix_id("identity--v", "identity--v") @source("STIX Vendor (identity--v)")
b.json:3:1 stix_object("intrusion-set--a", intrusion_set, "A") @source("STIX A (intrusion-set--a)")
b.json:3:1 stix_id("intrusion-set--a", "intrusion-set--a") @source("STIX A (intrusion-set--a)")
b.json:3:1 external_reference("intrusion-set--a", "Vendor blog", "", "https://example.com/a") @source("STIX A (intrusion-set--a)")
b.json:4:1 stix_object("tool--t", tool, "T") @source("STIX T (tool--t)")
b.json:4:1 stix_id("tool--t", "tool--t") @source("STIX T (tool--t)")
b.json:5:1 stix_object("malware--m", malware, "M") @source("STIX M (malware--m)")
b.json:5:1 stix_id("malware--m", "malware--m") @source("STIX M (malware--m)")
b.json:10:1 uses("intrusion-set--a", "tool--t") @source("STIX A uses T (relationship--1, citing Report A; Report B)")
b.json:3:1 created_by("intrusion-set--a", "identity--v") @source("STIX A (intrusion-set--a)")
warning[W0305]: STIX property `external_references` ignored: an entry has no string `source_name` b.json:3:187
  label: ignored
warning[W0305]: STIX property `external_references` ignored: expected an array of objects, found an object b.json:4:107
  label: ignored
warning[W0305]: STIX property `created_by_ref` ignored: expected an identity id, found a number b.json:5:72
  label: ignored
warning[W0331]: `created_by_ref` refers to `identity--gone`, which is not an identity in the bundle b.json:4:66
  label: no `created_by` fact for this object
  help: include the identity object in the bundle
warning[W0330]: ignored 3 objects of unknown STIX types b.json:6:10
  label: the first one ignored
  note: ignored: 2 x-vendor-note, 1 intrusion_set
  help: check the spelling of `type`; custom (`x-`) objects are not mapped to facts
"#,
        );
    }

    #[test]
    fn created_timestamps_start_the_facts_windows() {
        check(
            r#"{"type": "bundle", "objects": [
{"type": "intrusion-set", "id": "intrusion-set--a", "name": "A", "created": "2018-04-18T17:59:24.739Z", "aliases": ["A", "TEMP.A"]},
{"type": "tool", "id": "tool--t", "name": "T"},
{"type": "relationship", "id": "relationship--1", "relationship_type": "uses", "source_ref": "intrusion-set--a", "target_ref": "tool--t", "created": "2021-07-19T00:00:00Z"},
{"type": "relationship", "id": "relationship--2", "relationship_type": "uses", "source_ref": "intrusion-set--a", "target_ref": "tool--t", "created": "yesterday"}]}"#,
            &[],
            r#"
b.json:2:1 stix_object("intrusion-set--a", intrusion_set, "A") @source("STIX A (intrusion-set--a)") @since(2018-04-18)
b.json:2:1 stix_id("intrusion-set--a", "intrusion-set--a") @source("STIX A (intrusion-set--a)") @since(2018-04-18)
b.json:2:1 alias("intrusion-set--a", "A") @source("STIX A (intrusion-set--a)") @since(2018-04-18)
b.json:2:1 alias("intrusion-set--a", "TEMP.A") @source("STIX A (intrusion-set--a)") @since(2018-04-18)
b.json:3:1 stix_object("tool--t", tool, "T") @source("STIX T (tool--t)")
b.json:3:1 stix_id("tool--t", "tool--t") @source("STIX T (tool--t)")
b.json:4:1 uses("intrusion-set--a", "tool--t") @source("STIX A uses T (relationship--1)") @since(2021-07-19)
b.json:5:1 uses("intrusion-set--a", "tool--t") @source("STIX A uses T (relationship--2)")
warning[W0305]: STIX property `created` ignored: expected a timestamp such as `2021-08-01T00:00:00Z` b.json:5:150
  label: ignored
"#,
        );
    }

    #[test]
    fn bundle_without_objects_is_an_error() {
        check(
            r#"{"type": "bundle", "objects": {}}"#,
            &[],
            r#"
error[E0310]: STIX bundle has no `objects` array b.json:1:31
  label: a bundle with `"type": "bundle"` needs `"objects": [...]`
  help: remove `"type": "bundle"` if this is a JSON fact file
"#,
        );
    }

    #[test]
    fn declarations_must_fit_the_produced_columns() {
        check(
            r#"{"type": "bundle", "objects": [
{"type": "campaign", "id": "campaign--c", "name": "C", "first_seen": "2020-01-02T00:00:00Z", "last_seen": "2020-02-03T00:00:00Z"}]}"#,
            &[
                ("campaign_seen", &[None, Some(Kind::Text), Some(Kind::Date)]),
                ("stix_id", &[None]),
                ("stix_object", &[None, Some(Kind::Text), None]),
            ],
            r#"
b.json:2:1 stix_object("campaign--c", campaign, "C") @source("STIX C (campaign--c)")
error[E0305]: `stix_id` is declared as (any), but STIX import produces (text, text) b.json:2:1
  label: produced from this STIX object
  help: change the declaration of `stix_id` or declare its columns as `any`
error[E0304]: `campaign_seen` is declared as (any, text, date), but STIX import produces (text, date, date) b.json:2:1
  label: produced from this STIX object
  help: change the declaration of `campaign_seen` or declare its columns as `any`
"#,
        );
    }
}
