//! MISP galaxy cluster files and MISP event JSON mapped to facts.
//!
//! A JSON file is read as MISP (rather than as JSON facts) when its top level is
//!
//! - a galaxy cluster file: an object with a `values` array and a string `type` and
//!   `uuid` (such as MISP's `clusters/threat-actor.json`), or
//! - MISP events: an object with an `Event` member (one event, as `/events/view`
//!   returns it), an object with a `response` array of such objects (`/events/restSearch`;
//!   a `response` that is not an array is `E0340`), or an array of such objects.
//!
//! Every fact carries a `source` naming the MISP object it came from, with its uuid:
//! `MISP galaxy threat-actor cluster "APT40" (<uuid>)`, `MISP event 1207 "<info>"
//! (<uuid>)`, `MISP event 1207 attribute <uuid>`. A fact spans the JSON object it came
//! from; each argument spans the JSON value it was read from. All arguments are text
//! except dates (`misp_event_date`, `misp_first_seen`) and integers
//! (`misp_attribution_confidence`, `misp_credibility`).
//!
//! # Galaxy clusters
//!
//! | MISP | fact |
//! |---|---|
//! | a cluster in `values` | `misp_cluster(Cluster, Galaxy, Value, Key)`: `Cluster` its uuid, `Galaxy` the file's `type` (`threat-actor`), `Value` its `value`, `Key` a symbol made from the value (lower case, runs of other characters as `_`: `"Lazarus Group"` is `lazarus_group`), or the uuid when that symbol is taken (`W0345`) |
//! | `meta.synonyms` | `misp_synonym(Cluster, Synonym)`, once per distinct name |
//! | `meta.country` | `misp_country(Cluster, Country)` (ISO 3166 alpha-2 as written, `CN`) |
//! | `meta.cfr-suspected-state-sponsor` | `misp_state_sponsor(Cluster, Sponsor)` (`China`) |
//! | `meta.attribution-confidence` | `misp_attribution_confidence(Cluster, Percent)` (0 to 100) |
//! | `meta.cfr-suspected-victims` | `misp_suspected_victim(Cluster, Victim)` |
//! | `meta.cfr-target-category` | `misp_target_category(Cluster, Category)` |
//! | `meta.refs` | `misp_ref(Cluster, Url)` |
//! | `related` | `misp_related(Cluster, OtherCluster, Type)` (`similar`, `uses`, ...) |
//!
//! A name (a cluster's value or synonym) that an earlier cluster of the file also has is
//! reported (`W0341`, naming both clusters) and loaded for both: the clusters are never
//! merged, and a rule set can see the name is ambiguous.
//!
//! # Events
//!
//! | MISP | fact |
//! |---|---|
//! | `Event` | `misp_event(Event, Info)`, `misp_event_id(Event, Id)`, `misp_event_date(Event, Date)`, `misp_event_org(Event, OrgName)` (from `Orgc`, the creating organisation) |
//! | `Attribute` (of the event or of an object) | `misp_attribute(Attribute, Event, Category, Type, Value)`; `misp_to_ids(Attribute)` when `to_ids` is true; `misp_comment(Attribute, Comment)` when not empty; `misp_first_seen(Attribute, Date)` |
//! | `Object` | `misp_object(Object, Event, Name)`, `misp_object_attribute(Object, Attribute, ObjectRelation)` for each of its attributes; `misp_comment` and `misp_first_seen` as for attributes |
//! | `Tag` (of the event or an attribute) | `misp_tag(Owner, Name)`; for a machine tag `namespace:predicate` or `namespace:predicate="value"` also `misp_machine_tag(Owner, Namespace, Predicate, Value)` (`Value` empty when absent) |
//! | `admiralty-scale:source-reliability="b"` | `misp_reliability(Owner, "B")` (letters `a` to `g`, loaded upper case) |
//! | `admiralty-scale:information-credibility="2"` | `misp_credibility(Owner, 2)` (1 to 6) |
//! | `Galaxy` (of the event or an attribute) | `misp_galaxy(Owner, GalaxyType, ClusterValue, ClusterUuid)` per `GalaxyCluster` |
//!
//! `Owner` is the uuid of the event or attribute the tag or galaxy is attached to.
//!
//! # What is reported
//!
//! A document of the right kind but the wrong shape (`values` or `response` not an array,
//! `Event` not an object) is an error (`E0340`) and loads nothing. A cluster, event,
//! attribute, object, tag or galaxy cluster without what it needs (a string `uuid`,
//! `value`, `type`, `category`, `name`), or that is not an object, is skipped with a
//! warning (`W0340`) saying so; a repeated cluster uuid is skipped (`W0345`).
//! Attributes and objects marked `"deleted": true` (in exports that include deleted
//! data) are skipped, with one warning per file counting them (`W0346`). An unusable
//! property (a date, `to_ids`, `attribution-confidence`, a list that is no list) is
//! ignored with a warning (`W0344`). A tag that is not a well-formed machine tag
//! (`W0342`) and an `admiralty-scale` tag with an unknown predicate or value (`W0343`)
//! are kept in `misp_tag` and give nothing else; so is an `estimative-language` tag
//! with an unknown predicate or term (`W0343`), which stays in `misp_machine_tag`. A file that is not JSON (a truncated
//! download) is `E0307`, as for any JSON file.
//!
//! When the caller declares one of these relations, its declaration must accept the
//! columns above (`E0304`/`E0305`, and that relation's facts are not loaded).

use std::borrow::Cow;

use rustc_hash::{FxHashMap, FxHashSet};

use super::tree::{Json, Node, Str};
use super::{Collector, FactError, InputFact, Loaded, Schema};
use crate::diagnostic::{SourceId, Span};
use crate::value::{Kind, Value};

use Kind::{Date, Int, Text};

/// The relations MISP import produces, with their column kinds.
pub const RELATIONS: [(&str, &[Kind]); 24] = [
    ("misp_cluster", &[Text, Text, Text, Text]),
    ("misp_synonym", &[Text, Text]),
    ("misp_country", &[Text, Text]),
    ("misp_state_sponsor", &[Text, Text]),
    ("misp_attribution_confidence", &[Text, Int]),
    ("misp_suspected_victim", &[Text, Text]),
    ("misp_target_category", &[Text, Text]),
    ("misp_ref", &[Text, Text]),
    ("misp_related", &[Text, Text, Text]),
    ("misp_event", &[Text, Text]),
    ("misp_event_id", &[Text, Text]),
    ("misp_event_date", &[Text, Date]),
    ("misp_event_org", &[Text, Text]),
    ("misp_attribute", &[Text, Text, Text, Text, Text]),
    ("misp_to_ids", &[Text]),
    ("misp_comment", &[Text, Text]),
    ("misp_first_seen", &[Text, Date]),
    ("misp_object", &[Text, Text, Text]),
    ("misp_object_attribute", &[Text, Text, Text]),
    ("misp_tag", &[Text, Text]),
    ("misp_machine_tag", &[Text, Text, Text, Text]),
    ("misp_reliability", &[Text, Text]),
    ("misp_credibility", &[Text, Int]),
    ("misp_galaxy", &[Text, Text, Text, Text]),
];

/// What kind of MISP document a parsed JSON document is, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Document {
    /// A galaxy cluster file.
    Galaxy,
    /// One or more events.
    Events,
}

/// Recognises a MISP document by its top level (see the module docs).
pub(crate) fn kind_of(document: &Json<'_>) -> Option<Document> {
    let has_event = |json: &Json<'_>| json.get("Event").is_some();
    match &document.node {
        Node::Object(_) => {
            let string = |key| document.get(key).and_then(Json::as_str).is_some();
            if document.get("values").is_some() && string("type") && string("uuid") {
                Some(Document::Galaxy)
            } else if has_event(document) {
                Some(Document::Events)
            } else {
                // A `response` that is no array is no JSON facts either: it is reported
                // as a MISP response of the wrong shape.
                match document.get("response").map(|r| &r.node) {
                    Some(Node::Array(events)) if events.first().is_some_and(has_event) => {
                        Some(Document::Events)
                    }
                    Some(Node::Array(_)) | None => None,
                    Some(_) => Some(Document::Events),
                }
            }
        }
        Node::Array(elements) if elements.first().is_some_and(has_event) => Some(Document::Events),
        _ => None,
    }
}

/// Maps a parsed MISP document (one [`kind_of`] recognised) to facts.
pub(crate) fn from_tree(
    document: &Json<'_>,
    kind: Document,
    source: SourceId,
    schema: &dyn Schema,
) -> Loaded {
    let mut importer = Importer {
        source,
        facts: Vec::new(),
        diagnostics: Collector::new(),
        deleted: (0, None),
    };
    match kind {
        Document::Galaxy => importer.galaxy(document),
        Document::Events => importer.events(document),
    }
    if let (count, Some(span)) = importer.deleted {
        importer.warn(FactError::MispDeleted { count, span });
    }
    importer.check_schema(schema);
    Loaded {
        facts: importer.facts,
        tables: Vec::new(),
        rule_files: Vec::new(),
        diagnostics: importer.diagnostics.finish(),
    }
}

/// A symbol made from a cluster's value: lower case ASCII letters and digits, other runs
/// as one `_`, none at either end; `None` when that leaves nothing or does not start with
/// a letter.
fn key_of(value: &str) -> Option<String> {
    let mut key = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    while key.ends_with('_') {
        key.pop();
    }
    key.starts_with(|c: char| c.is_ascii_lowercase())
        .then_some(key)
}

/// A tag split as a MISP machine tag: `namespace:predicate` or
/// `namespace:predicate="value"`. `Ok(None)` for a plain tag (no `:` and no `=`).
fn parse_machine_tag(tag: &str) -> Result<Option<(&str, &str, &str)>, &'static str> {
    let Some((namespace, rest)) = tag.split_once(':') else {
        if tag.contains('=') || tag.contains('"') {
            return Err("`=` or `\"` in a tag with no `namespace:`");
        }
        return Ok(None);
    };
    if namespace.trim().is_empty() {
        return Err("the namespace before `:` is empty");
    }
    if namespace.contains(['=', '"']) {
        return Err("`=` or `\"` before the first `:`");
    }
    let (predicate, value) = match rest.split_once('=') {
        None if rest.contains('"') => return Err("a `\"` with no `=` before it"),
        None => (rest, ""),
        Some((predicate, quoted)) => {
            let value = quoted
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .filter(|v| !v.contains('"'));
            match value {
                Some(value) => (predicate, value),
                None => return Err("the value after `=` is not one quoted string"),
            }
        }
    };
    if predicate.trim().is_empty() {
        return Err("the predicate after `:` is empty");
    }
    if predicate.contains('"') {
        return Err("a `\"` in the predicate");
    }
    Ok(Some((namespace, predicate, value)))
}

struct Importer {
    source: SourceId,
    facts: Vec<InputFact>,
    diagnostics: Collector,
    /// Attributes and objects marked `"deleted": true`, and the first one's span.
    deleted: (usize, Option<Span>),
}

/// A string property of an object: its value and span.
type Field = (String, Span);

impl Importer {
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

    /// Whether an attribute or object is marked deleted; counts it for the summary.
    fn is_deleted(&mut self, item: &Json<'_>) -> bool {
        let deleted = item.get("deleted").is_some_and(Json::is_true);
        if deleted {
            self.deleted.0 += 1;
            self.deleted.1.get_or_insert(self.span(item));
        }
        deleted
    }

    fn malformed(&mut self, problem: String, consequence: &'static str, span: Span) {
        self.warn(FactError::MispMalformed {
            problem,
            consequence,
            span,
        });
    }

    fn bad_property(&mut self, property: &str, problem: String, span: Span) {
        self.warn(FactError::MispBadProperty {
            property: property.to_owned(),
            problem,
            span,
        });
    }

    fn fact(&mut self, relation: &str, args: Vec<(Value, Span)>, span: Span, source: &str) {
        let (args, arg_spans) = args.into_iter().unzip();
        self.facts.push(InputFact {
            relation: relation.to_owned(),
            args,
            arg_spans,
            span,
            confidence: None,
            source: Some(source.to_owned()),
            since: None,
            until: None,
        });
    }

    /// A required string member; a warning naming `what` when absent or not a string.
    fn required(
        &mut self,
        object: &Json<'_>,
        key: &str,
        what: &str,
        consequence: &'static str,
    ) -> Option<Field> {
        match object.get(key) {
            Some(value) => match value.as_str() {
                Some(s) if !s.decode().is_empty() => {
                    Some((s.decode().into_owned(), self.str_span(s)))
                }
                Some(_) => {
                    self.malformed(
                        format!("{what} has an empty `{key}`"),
                        consequence,
                        self.span(value),
                    );
                    None
                }
                None => {
                    let problem = format!("{what} has a `{key}` that is {}", value.kind_name());
                    self.malformed(problem, consequence, self.span(value));
                    None
                }
            },
            None => {
                let problem = format!("{what} has no `{key}`");
                self.malformed(problem, consequence, self.span(object));
                None
            }
        }
    }

    /// An optional string member: `None` when absent or null, a warning when another
    /// kind of value.
    fn optional(&mut self, object: &Json<'_>, key: &str) -> Option<Field> {
        let value = object.get(key)?;
        match &value.node {
            Node::Null => None,
            Node::String(s) => Some((s.decode().into_owned(), self.str_span(s))),
            _ => {
                let problem = format!("expected a string, found {}", value.kind_name());
                self.bad_property(key, problem, self.span(value));
                None
            }
        }
    }

    /// An optional array member: `[]` when absent or null, a warning when not an array.
    fn list<'t, 'a>(&mut self, object: &'t Json<'a>, key: &str) -> &'t [Json<'a>] {
        match object.get(key) {
            None => &[],
            Some(value) => match &value.node {
                Node::Null => &[],
                Node::Array(elements) => elements,
                _ => {
                    let problem = format!("expected an array, found {}", value.kind_name());
                    self.bad_property(key, problem, self.span(value));
                    &[]
                }
            },
        }
    }

    /// The strings of an array (or of one string, as MISP writes a single value).
    fn strings<'t, 'a>(&mut self, value: &'t Json<'a>, key: &str) -> Vec<&'t Str<'a>> {
        match &value.node {
            Node::String(s) => vec![s],
            Node::Array(elements) => elements
                .iter()
                .filter_map(|element| match element.as_str() {
                    Some(s) => Some(s),
                    None => {
                        let problem = format!("expected a string, found {}", element.kind_name());
                        self.bad_property(key, problem, self.span(element));
                        None
                    }
                })
                .collect(),
            _ => {
                let problem = format!(
                    "expected a string or an array of strings, found {}",
                    value.kind_name()
                );
                self.bad_property(key, problem, self.span(value));
                Vec::new()
            }
        }
    }

    /// The day of a date (`2021-07-19`) or timestamp (`2021-07-19T10:00:00+00:00`).
    fn day(&mut self, value: &Json<'_>, property: &str) -> Option<(Value, Span)> {
        let date = value.as_str().and_then(|s| {
            let text = s.decode();
            let day = text.get(..10)?;
            let rest = &text[10..];
            (rest.is_empty() || rest.starts_with(['T', ' ']))
                .then(|| Value::parse_date(day))
                .flatten()
        });
        if date.is_none() {
            let problem = format!(
                "expected a date such as `2021-07-19`, found {}",
                describe(value)
            );
            self.bad_property(property, problem, self.span(value));
        }
        Some((date?, self.span(value)))
    }

    fn galaxy(&mut self, document: &Json<'_>) {
        let galaxy = document
            .get("type")
            .and_then(Json::as_str)
            .map(|s| (s.decode().into_owned(), self.str_span(s)))
            .expect("kind_of checked that `type` is a string");
        let Some(values) = document.get("values") else {
            return;
        };
        let Some(clusters) = values.as_array() else {
            self.warn(FactError::MispShape {
                message: "MISP galaxy cluster file whose `values` is not an array".to_owned(),
                label: format!("found {}", values.kind_name()),
                span: self.span(values),
            });
            return;
        };
        let mut uuids: FxHashMap<String, Span> = FxHashMap::default();
        let mut keys: FxHashSet<String> = FxHashSet::default();
        // Each name, with the value and span of the first cluster that has it.
        let mut names: FxHashMap<String, (String, Span)> = FxHashMap::default();
        for cluster in clusters {
            self.cluster(cluster, &galaxy, &mut uuids, &mut keys, &mut names);
        }
    }

    fn cluster(
        &mut self,
        cluster: &Json<'_>,
        galaxy: &Field,
        uuids: &mut FxHashMap<String, Span>,
        keys: &mut FxHashSet<String>,
        names: &mut FxHashMap<String, (String, Span)>,
    ) {
        let span = self.span(cluster);
        if cluster.as_object().is_none() {
            let problem = format!("found {} in `values`", cluster.kind_name());
            self.malformed(problem, "skipped", span);
            return;
        }
        let skipped = "the cluster is skipped";
        let value = self.required(cluster, "value", "a galaxy cluster", skipped);
        let uuid = self.required(cluster, "uuid", "a galaxy cluster", skipped);
        let (Some((value, value_span)), Some((uuid, uuid_span))) = (value, uuid) else {
            return;
        };
        if let Some(&first) = uuids.get(&uuid) {
            self.warn(FactError::DuplicateCluster {
                what: format!("cluster uuid `{uuid}` appears more than once"),
                consequence: "this cluster is skipped",
                span: uuid_span,
                first,
            });
            return;
        }
        uuids.insert(uuid.clone(), uuid_span);
        let key = match key_of(&value) {
            Some(key) if keys.insert(key.clone()) => key,
            Some(key) => {
                self.warn(FactError::DuplicateCluster {
                    what: format!("the symbol `{key}` made from `{value}` is another cluster's"),
                    consequence: "this cluster is keyed by its uuid instead",
                    span: value_span,
                    first: value_span,
                });
                uuid.clone()
            }
            None => uuid.clone(),
        };
        let source = format!("MISP galaxy {} cluster \"{value}\" ({uuid})", galaxy.0);
        let id = || (Value::text(&uuid), uuid_span);
        self.fact(
            "misp_cluster",
            vec![
                id(),
                (Value::text(&galaxy.0), galaxy.1),
                (Value::text(&value), value_span),
                (Value::text(&key), value_span),
            ],
            span,
            &source,
        );
        let mut own: FxHashSet<String> = FxHashSet::default();
        own.insert(value.clone());
        self.shared_name(&value, value_span, &value, names);
        let meta = match cluster.get("meta") {
            None => None,
            Some(meta) if meta.as_object().is_some() => Some(meta),
            Some(meta) => {
                let problem = format!("expected an object, found {}", meta.kind_name());
                self.bad_property("meta", problem, self.span(meta));
                None
            }
        };
        if let Some(meta) = meta {
            if let Some(synonyms) = meta.get("synonyms") {
                for synonym in self.strings(synonyms, "synonyms") {
                    let name = synonym.decode().into_owned();
                    if !own.insert(name.clone()) {
                        continue;
                    }
                    let name_span = self.str_span(synonym);
                    self.shared_name(&name, name_span, &value, names);
                    self.fact(
                        "misp_synonym",
                        vec![id(), (Value::text(&name), name_span)],
                        span,
                        &source,
                    );
                }
            }
            let lists = [
                ("country", "misp_country"),
                ("cfr-suspected-state-sponsor", "misp_state_sponsor"),
                ("cfr-suspected-victims", "misp_suspected_victim"),
                ("cfr-target-category", "misp_target_category"),
                ("refs", "misp_ref"),
            ];
            for (property, relation) in lists {
                let Some(list) = meta.get(property) else {
                    continue;
                };
                let mut seen: FxHashSet<Cow<'_, str>> = FxHashSet::default();
                for item in self.strings(list, property) {
                    let text = item.decode();
                    if seen.insert(text.clone()) {
                        let arg = (Value::text(&text), self.str_span(item));
                        self.fact(relation, vec![id(), arg], span, &source);
                    }
                }
            }
            if let Some(confidence) = meta.get("attribution-confidence") {
                let number = match &confidence.node {
                    Node::String(s) => s.decode().trim().parse::<i64>().ok(),
                    Node::Number(raw) => raw.parse::<i64>().ok(),
                    _ => None,
                };
                match number.filter(|n| (0..=100).contains(n)) {
                    Some(n) => {
                        let arg = (Value::Int(n), self.span(confidence));
                        self.fact(
                            "misp_attribution_confidence",
                            vec![id(), arg],
                            span,
                            &source,
                        );
                    }
                    None => {
                        let problem = format!(
                            "expected a percentage from 0 to 100 such as \"50\", found {}",
                            describe(confidence)
                        );
                        let at = self.span(confidence);
                        self.bad_property("attribution-confidence", problem, at);
                    }
                }
            }
        }
        for related in self.list(cluster, "related") {
            if related.as_object().is_none() {
                let problem = format!("found {} in `related`", related.kind_name());
                self.malformed(problem, "the link is skipped", self.span(related));
                continue;
            }
            let skipped = "the link is skipped";
            let other = self.required(related, "dest-uuid", "a related link", skipped);
            let kind = self.required(related, "type", "a related link", skipped);
            if let (Some((other, other_span)), Some((kind, kind_span))) = (other, kind) {
                self.fact(
                    "misp_related",
                    vec![
                        id(),
                        (Value::text(&other), other_span),
                        (Value::text(&kind), kind_span),
                    ],
                    self.span(related),
                    &source,
                );
            }
        }
    }

    /// Records that cluster `value` has `name`, reporting it when an earlier cluster has
    /// it too.
    fn shared_name(
        &mut self,
        name: &str,
        span: Span,
        value: &str,
        names: &mut FxHashMap<String, (String, Span)>,
    ) {
        match names.get(name) {
            Some((first_value, first)) => {
                let error = FactError::SharedAlias {
                    alias: name.to_owned(),
                    cluster: value.to_owned(),
                    first_cluster: first_value.clone(),
                    span,
                    first: *first,
                };
                self.warn(error);
            }
            None => {
                names.insert(name.to_owned(), (value.to_owned(), span));
            }
        }
    }

    fn events(&mut self, document: &Json<'_>) {
        let wrappers: &[Json<'_>] = match (&document.node, document.get("response")) {
            (Node::Array(elements), _) => elements,
            (_, Some(response)) if document.get("Event").is_none() => match response.as_array() {
                Some(elements) => elements,
                None => {
                    self.warn(FactError::MispShape {
                        message: "MISP `response` is not an array of events".to_owned(),
                        label: format!("found {}", response.kind_name()),
                        span: self.span(response),
                    });
                    return;
                }
            },
            _ => std::slice::from_ref(document),
        };
        for wrapper in wrappers {
            match wrapper.get("Event") {
                Some(event) if event.as_object().is_some() => self.event(event),
                Some(event) => self.warn(FactError::MispShape {
                    message: "MISP `Event` is not an object".to_owned(),
                    label: format!("found {}", event.kind_name()),
                    span: self.span(event),
                }),
                None => {
                    let problem = format!("found {} with no `Event`", wrapper.kind_name());
                    self.malformed(problem, "skipped", self.span(wrapper));
                }
            }
        }
    }

    fn event(&mut self, event: &Json<'_>) {
        let span = self.span(event);
        let skipped = "the event is skipped";
        let Some((uuid, uuid_span)) = self.required(event, "uuid", "an event", skipped) else {
            return;
        };
        let id = match event.get("id").map(|id| (&id.node, id)) {
            Some((Node::String(s), _)) => Some((s.decode().into_owned(), self.str_span(s))),
            Some((Node::Number(raw), json)) => Some(((*raw).to_owned(), self.span(json))),
            Some((_, json)) => {
                let problem = format!("expected a string or number, found {}", json.kind_name());
                self.bad_property("id", problem, self.span(json));
                None
            }
            None => None,
        };
        let info = self.optional(event, "info");
        let name = match &id {
            Some((id, _)) => format!("MISP event {id}"),
            None => "MISP event".to_owned(),
        };
        let source = match &info {
            Some((info, _)) => format!("{name} \"{info}\" ({uuid})"),
            None => format!("{name} ({uuid})"),
        };
        let owner = || (Value::text(&uuid), uuid_span);
        let (info, info_span) = info.unwrap_or_else(|| (String::new(), uuid_span));
        self.fact(
            "misp_event",
            vec![owner(), (Value::text(&info), info_span)],
            span,
            &source,
        );
        if let Some((id, id_span)) = &id {
            let arg = (Value::text(id), *id_span);
            self.fact("misp_event_id", vec![owner(), arg], span, &source);
        }
        if let Some(date) = event.get("date") {
            if let Some(day) = self.day(date, "date") {
                self.fact("misp_event_date", vec![owner(), day], span, &source);
            }
        }
        match event.get("Orgc") {
            Some(orgc) if orgc.as_object().is_some() => {
                let org = self.required(orgc, "name", "the event's `Orgc`", "no organisation");
                if let Some((org, org_span)) = org {
                    let arg = (Value::text(&org), org_span);
                    self.fact("misp_event_org", vec![owner(), arg], span, &source);
                }
            }
            Some(orgc) => {
                let problem = format!("expected an object, found {}", orgc.kind_name());
                self.bad_property("Orgc", problem, self.span(orgc));
            }
            None => {}
        }
        self.tags(event, &uuid, uuid_span, &source);
        self.galaxies(event, &uuid, uuid_span, &source);
        let attribute_source = |attribute: &str| format!("{name} attribute {attribute}");
        for attribute in self.list(event, "Attribute") {
            self.attribute(attribute, &uuid, None, &attribute_source);
        }
        for object in self.list(event, "Object") {
            let object_span = self.span(object);
            if object.as_object().is_none() {
                let problem = format!("found {} in `Object`", object.kind_name());
                self.malformed(problem, "skipped", object_span);
                continue;
            }
            if self.is_deleted(object) {
                continue;
            }
            let skipped = "the object and its attributes are skipped";
            let object_uuid = self.required(object, "uuid", "an object", skipped);
            let object_name = object_uuid
                .is_some()
                .then(|| self.required(object, "name", "an object", skipped))
                .flatten();
            let (Some((object_uuid, object_uuid_span)), Some((object_name, object_name_span))) =
                (object_uuid, object_name)
            else {
                continue;
            };
            let object_source = format!("{name} object {object_name} {object_uuid}");
            let object_arg = || (Value::text(&object_uuid), object_uuid_span);
            self.fact(
                "misp_object",
                vec![
                    object_arg(),
                    owner(),
                    (Value::text(&object_name), object_name_span),
                ],
                object_span,
                &object_source,
            );
            self.comment_and_seen(object, &object_uuid, object_uuid_span, &object_source);
            for attribute in self.list(object, "Attribute") {
                let within = (object_uuid.as_str(), object_uuid_span);
                self.attribute(attribute, &uuid, Some(within), &attribute_source);
            }
        }
    }

    fn attribute(
        &mut self,
        attribute: &Json<'_>,
        event: &str,
        object: Option<(&str, Span)>,
        source_of: &dyn Fn(&str) -> String,
    ) {
        let span = self.span(attribute);
        if attribute.as_object().is_none() {
            let problem = format!("found {} in `Attribute`", attribute.kind_name());
            self.malformed(problem, "skipped", span);
            return;
        }
        if self.is_deleted(attribute) {
            return;
        }
        let skipped = "the attribute is skipped";
        let what = "an attribute";
        let uuid = self.required(attribute, "uuid", what, skipped);
        let Some((uuid, uuid_span)) = uuid else {
            return;
        };
        let category = self.required(attribute, "category", what, skipped);
        let kind = self.required(attribute, "type", what, skipped);
        let value = self.required(attribute, "value", what, skipped);
        let (Some(category), Some(kind), Some(value)) = (category, kind, value) else {
            return;
        };
        let source = source_of(&uuid);
        let id = || (Value::text(&uuid), uuid_span);
        let text = |(text, at): &Field| (Value::text(text), *at);
        self.fact(
            "misp_attribute",
            vec![
                id(),
                (Value::text(event), uuid_span),
                text(&category),
                text(&kind),
                text(&value),
            ],
            span,
            &source,
        );
        if let Some((object, object_span)) = object {
            let relation = self.optional(attribute, "object_relation");
            let relation = relation.unwrap_or_else(|| (String::new(), uuid_span));
            self.fact(
                "misp_object_attribute",
                vec![(Value::text(object), object_span), id(), text(&relation)],
                span,
                &source,
            );
        }
        match attribute.get("to_ids").map(|flag| (&flag.node, flag)) {
            Some((Node::Bool(true), flag)) => {
                let arg = (Value::text(&uuid), self.span(flag));
                self.fact("misp_to_ids", vec![arg], span, &source);
            }
            Some((Node::Bool(false) | Node::Null, _)) | None => {}
            Some((_, flag)) => {
                let problem = format!("expected true or false, found {}", describe(flag));
                self.bad_property("to_ids", problem, self.span(flag));
            }
        }
        self.comment_and_seen(attribute, &uuid, uuid_span, &source);
        self.tags(attribute, &uuid, uuid_span, &source);
        self.galaxies(attribute, &uuid, uuid_span, &source);
    }

    fn comment_and_seen(&mut self, object: &Json<'_>, uuid: &str, uuid_span: Span, source: &str) {
        let span = self.span(object);
        if let Some((comment, comment_span)) = self.optional(object, "comment") {
            if !comment.is_empty() {
                let args = vec![
                    (Value::text(uuid), uuid_span),
                    (Value::text(&comment), comment_span),
                ];
                self.fact("misp_comment", args, span, source);
            }
        }
        if let Some(seen) = object
            .get("first_seen")
            .filter(|s| !matches!(s.node, Node::Null))
        {
            if let Some(day) = self.day(seen, "first_seen") {
                let args = vec![(Value::text(uuid), uuid_span), day];
                self.fact("misp_first_seen", args, span, source);
            }
        }
    }

    fn tags(&mut self, owner: &Json<'_>, uuid: &str, uuid_span: Span, source: &str) {
        for tag in self.list(owner, "Tag") {
            let span = self.span(tag);
            let name = match &tag.node {
                Node::Object(_) => self.required(tag, "name", "a tag", "the tag is skipped"),
                _ => {
                    let problem = format!("found {} in `Tag`", tag.kind_name());
                    self.malformed(problem, "skipped", span);
                    None
                }
            };
            let Some((name, name_span)) = name else {
                continue;
            };
            let owner_arg = || (Value::text(uuid), uuid_span);
            let name_arg = (Value::text(&name), name_span);
            self.fact("misp_tag", vec![owner_arg(), name_arg], span, source);
            let (namespace, predicate, value) = match parse_machine_tag(&name) {
                Ok(Some(parts)) => parts,
                Ok(None) => continue,
                Err(problem) => {
                    self.warn(FactError::BadTag {
                        tag: name.clone(),
                        problem,
                        span: name_span,
                    });
                    continue;
                }
            };
            let args = vec![
                owner_arg(),
                (Value::text(namespace), name_span),
                (Value::text(predicate), name_span),
                (Value::text(value), name_span),
            ];
            self.fact("misp_machine_tag", args, span, source);
            if namespace == "admiralty-scale" {
                self.admiralty(
                    &name,
                    predicate,
                    value,
                    (uuid, uuid_span),
                    name_span,
                    span,
                    source,
                );
            } else if namespace == "estimative-language" {
                if let Some(problem) = estimative_problem(predicate, value) {
                    self.warn(FactError::UnknownAdmiralty {
                        taxonomy: "estimative-language",
                        tag: name.clone(),
                        problem,
                        span: name_span,
                    });
                }
            }
        }
    }

    /// An `admiralty-scale` tag as a reliability letter or credibility number.
    #[allow(clippy::too_many_arguments)]
    fn admiralty(
        &mut self,
        tag: &str,
        predicate: &str,
        value: &str,
        (uuid, uuid_span): (&str, Span),
        name_span: Span,
        span: Span,
        source: &str,
    ) {
        let owner = (Value::text(uuid), uuid_span);
        match predicate {
            "source-reliability" => match value {
                "a" | "b" | "c" | "d" | "e" | "f" | "g" => {
                    let letter = (Value::text(&value.to_ascii_uppercase()), name_span);
                    self.fact("misp_reliability", vec![owner, letter], span, source);
                }
                _ => self.warn(FactError::UnknownAdmiralty {
                    taxonomy: "admiralty-scale",
                    tag: tag.to_owned(),
                    problem: format!(
                        "`{value}` is no source-reliability letter (`a` to `g`, lower case)"
                    ),
                    span: name_span,
                }),
            },
            "information-credibility" => match value.parse::<i64>() {
                Ok(n @ 1..=6) if value.len() == 1 => {
                    let number = (Value::Int(n), name_span);
                    self.fact("misp_credibility", vec![owner, number], span, source);
                }
                _ => self.warn(FactError::UnknownAdmiralty {
                    taxonomy: "admiralty-scale",
                    tag: tag.to_owned(),
                    problem: format!("`{value}` is no information-credibility number (`1` to `6`)"),
                    span: name_span,
                }),
            },
            _ => self.warn(FactError::UnknownAdmiralty {
                taxonomy: "admiralty-scale",
                tag: tag.to_owned(),
                problem: format!(
                    "`{predicate}` is no admiralty-scale predicate \
                     (`source-reliability` or `information-credibility`)"
                ),
                span: name_span,
            }),
        }
    }

    fn galaxies(&mut self, owner: &Json<'_>, uuid: &str, uuid_span: Span, source: &str) {
        for galaxy in self.list(owner, "Galaxy") {
            if galaxy.as_object().is_none() {
                let problem = format!("found {} in `Galaxy`", galaxy.kind_name());
                self.malformed(problem, "skipped", self.span(galaxy));
                continue;
            }
            let skipped = "the galaxy is skipped";
            let Some((kind, kind_span)) = self.required(galaxy, "type", "a galaxy", skipped) else {
                continue;
            };
            for cluster in self.list(galaxy, "GalaxyCluster") {
                let span = self.span(cluster);
                if cluster.as_object().is_none() {
                    let problem = format!("found {} in `GalaxyCluster`", cluster.kind_name());
                    self.malformed(problem, "skipped", span);
                    continue;
                }
                let skipped = "the cluster is skipped";
                let value = self.required(cluster, "value", "a galaxy cluster", skipped);
                let cluster_uuid = value
                    .is_some()
                    .then(|| self.required(cluster, "uuid", "a galaxy cluster", skipped))
                    .flatten();
                let (Some((value, value_span)), Some((cluster_uuid, cluster_span))) =
                    (value, cluster_uuid)
                else {
                    continue;
                };
                let args = vec![
                    (Value::text(uuid), uuid_span),
                    (Value::text(&kind), kind_span),
                    (Value::text(&value), value_span),
                    (Value::text(&cluster_uuid), cluster_span),
                ];
                self.fact("misp_galaxy", args, span, source);
            }
        }
    }

    /// Drops the facts of a declared relation whose declaration does not accept them.
    fn check_schema(&mut self, schema: &dyn Schema) {
        super::drop_misfits(
            "MISP",
            &RELATIONS,
            schema,
            &mut self.facts,
            &mut self.diagnostics,
        );
    }
}

/// What is wrong with an `estimative-language` tag, if anything.
fn estimative_problem(predicate: &str, value: &str) -> Option<String> {
    let values: &[&str] = match predicate {
        "likelihood-probability" => &[
            "almost-no-chance",
            "very-unlikely",
            "unlikely",
            "roughly-even-chance",
            "likely",
            "very-likely",
            "almost-certain",
        ],
        "confidence-in-analytic-judgment" => &["low", "moderate", "high"],
        _ => {
            return Some(format!(
                "`{predicate}` is no estimative-language predicate \
                 (`likelihood-probability` or `confidence-in-analytic-judgment`)"
            ))
        }
    };
    (!values.contains(&value)).then(|| format!("`{value}` is no `{predicate}` term"))
}

/// What a JSON value is, for "found ..." in messages: its text when short.
fn describe(value: &Json<'_>) -> String {
    match &value.node {
        Node::String(s) => {
            let text = s.decode();
            let shown: String = text.chars().take(40).collect();
            let ellipsis = if shown.len() < text.len() { "..." } else { "" };
            format!("\"{shown}{ellipsis}\"")
        }
        Node::Number(raw) => format!("the number {raw}"),
        Node::Bool(b) => format!("`{b}`"),
        _ => value.kind_name().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_json, render, NoSchema};
    use super::{key_of, parse_machine_tag};
    use crate::diagnostic::Sources;
    use crate::value::Kind;

    fn load(text: &str) -> String {
        let mut sources = Sources::default();
        let source = sources.add("m.json", text);
        let loaded = parse_json(text, source, &NoSchema);
        render(&loaded, &sources)
    }

    fn check(text: &str, expected: &str) {
        assert_eq!(load(text).trim(), expected.trim());
    }

    /// The diagnostics' first lines only.
    fn check_diagnostics(text: &str, expected: &[&str]) {
        let rendered = load(text);
        let found: Vec<&str> = rendered
            .lines()
            .filter(|line| line.starts_with("warning[") || line.starts_with("error["))
            .collect();
        assert_eq!(found, expected, "{rendered}");
    }

    #[test]
    fn a_cluster_gives_its_names_meta_and_links() {
        check(
            r#"{"type": "threat-actor", "uuid": "g", "values": [
{"value": "APT40", "uuid": "c1", "meta": {"synonyms": ["Leviathan", "APT40"], "country": "CN",
 "cfr-suspected-state-sponsor": "China", "attribution-confidence": "50",
 "cfr-suspected-victims": ["Cambodia"], "cfr-target-category": ["Government"],
 "refs": ["https://example.org/apt40"]},
 "related": [{"dest-uuid": "c2", "type": "similar", "tags": []}]}]}"#,
            r#"
m.json:2:1 misp_cluster(c1, "threat-actor", "APT40", apt40) @source("MISP galaxy threat-actor cluster \"APT40\" (c1)")
m.json:2:1 misp_synonym(c1, "Leviathan") @source("MISP galaxy threat-actor cluster \"APT40\" (c1)")
m.json:2:1 misp_country(c1, "CN") @source("MISP galaxy threat-actor cluster \"APT40\" (c1)")
m.json:2:1 misp_state_sponsor(c1, "China") @source("MISP galaxy threat-actor cluster \"APT40\" (c1)")
m.json:2:1 misp_suspected_victim(c1, "Cambodia") @source("MISP galaxy threat-actor cluster \"APT40\" (c1)")
m.json:2:1 misp_target_category(c1, "Government") @source("MISP galaxy threat-actor cluster \"APT40\" (c1)")
m.json:2:1 misp_ref(c1, "https://example.org/apt40") @source("MISP galaxy threat-actor cluster \"APT40\" (c1)")
m.json:2:1 misp_attribution_confidence(c1, 50) @source("MISP galaxy threat-actor cluster \"APT40\" (c1)")
m.json:6:14 misp_related(c1, c2, similar) @source("MISP galaxy threat-actor cluster \"APT40\" (c1)")
"#,
        );
    }

    #[test]
    fn keys_are_symbols_made_from_values() {
        assert_eq!(key_of("Lazarus Group").as_deref(), Some("lazarus_group"));
        assert_eq!(key_of("TEMP.Periscope").as_deref(), Some("temp_periscope"));
        assert_eq!(
            key_of(" APT 29 (Cozy Bear) ").as_deref(),
            Some("apt_29_cozy_bear")
        );
        assert_eq!(key_of("414 Gang"), None);
        assert_eq!(key_of("..."), None);
    }

    #[test]
    fn a_shared_alias_is_reported_with_both_clusters_and_kept_for_both() {
        let text = r#"{"type": "threat-actor", "uuid": "g", "values": [
{"value": "APT29", "uuid": "c1", "meta": {"synonyms": ["NOBELIUM"]}},
{"value": "UNC2452", "uuid": "c2", "meta": {"synonyms": ["NOBELIUM"]}}]}"#;
        let rendered = load(text);
        assert!(
            rendered.contains("misp_synonym(c1, \"NOBELIUM\")"),
            "{rendered}"
        );
        assert!(
            rendered.contains("misp_synonym(c2, \"NOBELIUM\")"),
            "{rendered}"
        );
        assert!(
            rendered.contains(
                "warning[W0341]: `NOBELIUM` names two MISP clusters: `APT29` and `UNC2452` m.json:3:58\n  \
                 label: also a name of an earlier cluster\n  \
                 see m.json:2:56: `APT29` has it here\n"
            ),
            "{rendered}"
        );
    }

    #[test]
    fn an_event_gives_attributes_objects_tags_galaxies_and_grades() {
        check(
            r#"{"Event": {"id": "1207", "uuid": "e1", "info": "PCO intrusion", "date": "2021-08-01",
"Orgc": {"name": "NCSC-NZ", "uuid": "o"},
"Tag": [{"name": "admiralty-scale:source-reliability=\"b\""},
        {"name": "admiralty-scale:information-credibility=\"2\""},
        {"name": "tlp:green"}, {"name": "Espionage"}],
"Galaxy": [{"type": "threat-actor", "GalaxyCluster": [{"value": "APT40", "uuid": "c1"}]}],
"Attribute": [{"uuid": "a1", "category": "Network activity", "type": "ip-dst", "value": "203.0.113.7",
  "to_ids": true, "comment": "C2", "first_seen": "2021-01-15T00:00:00.000000+00:00",
  "Tag": [{"name": "misp-galaxy:threat-actor=\"APT40\""}]}],
"Object": [{"uuid": "o1", "name": "file", "Attribute": [
  {"uuid": "a2", "category": "Payload delivery", "type": "sha256", "value": "ab12", "object_relation": "sha256", "to_ids": false}]}]}}"#,
            r#"
m.json:1:11 misp_event(e1, "PCO intrusion") @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:1:11 misp_event_id(e1, "1207") @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:1:11 misp_event_date(e1, 2021-08-01) @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:1:11 misp_event_org(e1, "NCSC-NZ") @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:3:9 misp_tag(e1, "admiralty-scale:source-reliability=\"b\"") @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:3:9 misp_machine_tag(e1, "admiralty-scale", "source-reliability", b) @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:3:9 misp_reliability(e1, "B") @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:4:9 misp_tag(e1, "admiralty-scale:information-credibility=\"2\"") @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:4:9 misp_machine_tag(e1, "admiralty-scale", "information-credibility", "2") @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:4:9 misp_credibility(e1, 2) @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:5:9 misp_tag(e1, "tlp:green") @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:5:9 misp_machine_tag(e1, tlp, green, "") @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:5:32 misp_tag(e1, "Espionage") @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:6:55 misp_galaxy(e1, "threat-actor", "APT40", c1) @source("MISP event 1207 \"PCO intrusion\" (e1)")
m.json:7:15 misp_attribute(a1, e1, "Network activity", "ip-dst", "203.0.113.7") @source("MISP event 1207 attribute a1")
m.json:7:15 misp_to_ids(a1) @source("MISP event 1207 attribute a1")
m.json:7:15 misp_comment(a1, "C2") @source("MISP event 1207 attribute a1")
m.json:7:15 misp_first_seen(a1, 2021-01-15) @source("MISP event 1207 attribute a1")
m.json:9:11 misp_tag(a1, "misp-galaxy:threat-actor=\"APT40\"") @source("MISP event 1207 attribute a1")
m.json:9:11 misp_machine_tag(a1, "misp-galaxy", "threat-actor", "APT40") @source("MISP event 1207 attribute a1")
m.json:10:12 misp_object(o1, e1, file) @source("MISP event 1207 object file o1")
m.json:11:3 misp_attribute(a2, e1, "Payload delivery", sha256, ab12) @source("MISP event 1207 attribute a2")
m.json:11:3 misp_object_attribute(o1, a2, sha256) @source("MISP event 1207 attribute a2")
"#,
        );
    }

    #[test]
    fn machine_tags_split_into_namespace_predicate_and_value() {
        assert_eq!(
            parse_machine_tag(r#"misp-galaxy:threat-actor="APT40""#),
            Ok(Some(("misp-galaxy", "threat-actor", "APT40")))
        );
        assert_eq!(
            parse_machine_tag("tlp:white"),
            Ok(Some(("tlp", "white", "")))
        );
        assert_eq!(parse_machine_tag("Phishing"), Ok(None));
        for bad in [
            r#"misp-galaxy:threat-actor="APT40"#,
            r#"misp-galaxy:threat-actor=APT40"#,
            ":white",
            "tlp:",
            r#"a"b"#,
            r#"x:y="a"b""#,
            "x:y=",
        ] {
            assert!(parse_machine_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wrong_types_are_reported_and_skipped() {
        check_diagnostics(
            r#"{"type": "threat-actor", "uuid": "g", "values": [
"APT1", {"value": 40, "uuid": "c1"}, {"uuid": "c2"}, {"value": "", "uuid": "c3"},
{"value": "A", "uuid": "c4", "meta": {"synonyms": [1, "B"], "attribution-confidence": "high", "refs": {"a": 1}},
 "related": [{"type": "similar"}, 3]},
{"value": "A2", "uuid": "c4"}, {"value": "a", "uuid": "c5", "meta": []}]}"#,
            &[
                "warning[W0340]: malformed MISP data: found a string in `values` m.json:2:1",
                "warning[W0340]: malformed MISP data: a galaxy cluster has a `value` that is a number m.json:2:19",
                "warning[W0340]: malformed MISP data: a galaxy cluster has no `value` m.json:2:38",
                "warning[W0340]: malformed MISP data: a galaxy cluster has an empty `value` m.json:2:64",
                "warning[W0344]: MISP property `synonyms` ignored: expected a string, found a number m.json:3:52",
                "warning[W0344]: MISP property `refs` ignored: expected a string or an array of strings, found an object m.json:3:103",
                "warning[W0344]: MISP property `attribution-confidence` ignored: expected a percentage from 0 to 100 such as \"50\", found \"high\" m.json:3:87",
                "warning[W0340]: malformed MISP data: a related link has no `dest-uuid` m.json:4:14",
                "warning[W0340]: malformed MISP data: found a number in `related` m.json:4:35",
                "warning[W0345]: MISP cluster clash: cluster uuid `c4` appears more than once m.json:5:25",
                "warning[W0345]: MISP cluster clash: the symbol `a` made from `a` is another cluster's m.json:5:42",
                "warning[W0344]: MISP property `meta` ignored: expected an object, found an array m.json:5:69",
            ],
        );
    }

    #[test]
    fn an_event_without_uuid_and_attributes_without_value_are_skipped_with_a_warning() {
        check_diagnostics(
            r#"[{"Event": {"info": "no uuid"}}, {"Event": {"uuid": "e2", "date": "2021-13-01", "Orgc": {"uuid": "x"},
"Attribute": [{"uuid": "a1", "category": "Network activity", "type": "ip-dst"},
  {"uuid": "a2", "category": "Network activity", "type": "ip-dst", "value": "1.2.3.4", "to_ids": "1"}],
"Object": [{"uuid": "o1", "Attribute": []}], "Tag": ["tlp:white", {"name": 3}]}}, {"event": {}}]"#,
            &[
                "warning[W0340]: malformed MISP data: an event has no `uuid` m.json:1:12",
                "warning[W0344]: MISP property `date` ignored: expected a date such as `2021-07-19`, found \"2021-13-01\" m.json:1:67",
                "warning[W0340]: malformed MISP data: the event's `Orgc` has no `name` m.json:1:89",
                "warning[W0340]: malformed MISP data: found a string in `Tag` m.json:4:54",
                "warning[W0340]: malformed MISP data: a tag has a `name` that is a number m.json:4:76",
                "warning[W0340]: malformed MISP data: an attribute has no `value` m.json:2:15",
                "warning[W0344]: MISP property `to_ids` ignored: expected true or false, found \"1\" m.json:3:98",
                "warning[W0340]: malformed MISP data: an object has no `name` m.json:4:12",
                "warning[W0340]: malformed MISP data: found an object with no `Event` m.json:4:83",
            ],
        );
    }

    #[test]
    fn bad_tag_syntax_and_unknown_admiralty_grades_give_no_grade() {
        let text = r#"{"Event": {"uuid": "e1", "Tag": [
{"name": "misp-galaxy:threat-actor=\"APT40"},
{"name": "admiralty-scale:source-reliability=\"h\""},
{"name": "admiralty-scale:information-credibility=\"7\""},
{"name": "admiralty-scale:reliability=\"b\""},
{"name": "estimative-language:likelihood-probability=\"probable\""}]}}"#;
        check_diagnostics(
            text,
            &[
                "warning[W0342]: MISP tag `misp-galaxy:threat-actor=\"APT40` is not a well-formed machine tag: the value after `=` is not one quoted string m.json:2:10",
                "warning[W0343]: MISP tag `admiralty-scale:source-reliability=\"h\"` is not in the admiralty-scale taxonomy: `h` is no source-reliability letter (`a` to `g`, lower case) m.json:3:10",
                "warning[W0343]: MISP tag `admiralty-scale:information-credibility=\"7\"` is not in the admiralty-scale taxonomy: `7` is no information-credibility number (`1` to `6`) m.json:4:10",
                "warning[W0343]: MISP tag `admiralty-scale:reliability=\"b\"` is not in the admiralty-scale taxonomy: `reliability` is no admiralty-scale predicate (`source-reliability` or `information-credibility`) m.json:5:10",
                "warning[W0343]: MISP tag `estimative-language:likelihood-probability=\"probable\"` is not in the estimative-language taxonomy: `probable` is no `likelihood-probability` term m.json:6:10",
            ],
        );
        let rendered = load(text);
        assert!(!rendered.contains("misp_reliability"), "{rendered}");
        assert!(!rendered.contains("misp_credibility"), "{rendered}");
        assert_eq!(rendered.matches(" misp_tag(e1, ").count(), 5, "{rendered}");
    }

    #[test]
    fn deleted_attributes_and_objects_are_skipped_and_counted() {
        let text = r#"{"Event": {"uuid": "e1", "Orgc": {"name": "O"}, "Attribute": [
{"uuid": "a1", "category": "Network activity", "type": "ip-dst", "value": "1.2.3.4", "deleted": true},
{"uuid": "a2", "category": "Network activity", "type": "ip-dst", "value": "1.2.3.5", "deleted": false}],
"Object": [{"uuid": "o1", "name": "file", "deleted": true, "Attribute": [
  {"uuid": "a3", "category": "Payload delivery", "type": "sha256", "value": "ab"}]}]}}"#;
        let rendered = load(text);
        assert!(rendered.contains("misp_attribute(a2,"), "{rendered}");
        assert!(!rendered.contains("misp_attribute(a1,"), "{rendered}");
        assert!(!rendered.contains("a3"), "{rendered}");
        check_diagnostics(
            text,
            &["warning[W0346]: skipped 2 MISP attributes or objects marked deleted m.json:2:1"],
        );
    }

    #[test]
    fn wrong_shapes_at_the_top_are_errors() {
        check_diagnostics(
            r#"{"type": "threat-actor", "uuid": "g", "values": {"value": "A"}}"#,
            &["error[E0340]: MISP galaxy cluster file whose `values` is not an array m.json:1:49"],
        );
        check_diagnostics(
            r#"{"Event": [1]}"#,
            &["error[E0340]: MISP `Event` is not an object m.json:1:11"],
        );
    }

    #[test]
    fn truncated_json_is_a_syntax_error_with_its_position() {
        check_diagnostics(
            "{\"Event\": {\"uuid\": \"e1\",\n \"info\": \"cut",
            &["error[E0307]: invalid JSON: string is never closed m.json:2:10"],
        );
    }

    #[test]
    fn declarations_that_do_not_fit_drop_the_relation() {
        let mut sources = Sources::default();
        let text = r#"{"Event": {"uuid": "e1", "info": "x"}}"#;
        let source = sources.add("m.json", text);
        let schema = super::super::tests::schema(&[("misp_event", &[Some(Kind::Int)])]);
        let loaded = parse_json(text, source, &schema);
        assert!(loaded.facts.iter().all(|f| f.relation != "misp_event"));
        assert_eq!(loaded.diagnostics[0].code, "E0305");
        assert!(loaded.diagnostics[0]
            .message
            .contains("MISP import produces"));
    }
}
