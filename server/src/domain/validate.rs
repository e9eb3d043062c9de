//! Checks of request contents that need no lookup: lengths, ranges, forms. Every check adds to
//! one [`Violations`] list so a request with several bad fields is told about all of them.

use std::collections::BTreeMap;

use super::error::{DomainError, DomainResult, FieldViolation, Reason};

/// Length limits in characters, from CIF's entity definitions.
pub mod limits {
    pub const UNIQUE_NAME: usize = 128;
    pub const NAME: usize = 100;
    pub const TITLE: usize = 200;
    pub const URL: usize = 1024;
    pub const TRUSTED_DOMAIN: usize = 2000;
    pub const CUSTOM_PARAMETERS: usize = 2000;
    pub const TEMPLATE_NAME: usize = 128;
    pub const TAB_PARAMETERS: usize = 2048;
    /// Tabs a session template opens (anchor and additional), as many as a session holds.
    pub const TEMPLATE_TABS: usize = 10;
    pub const KPI_DETAILS: usize = 2000;
    pub const NOTIFICATION_FIELDS: usize = 10;
    pub const NOTIFICATION_FIELD_VALUE: usize = 1000;
    pub const BUTTON_TEXT: usize = 50;
    pub const COUNTDOWN_SECONDS_MAX: u32 = 500;
    pub const EVENT_NAME: usize = 100;
    /// Custom event payloads, in bytes.
    pub const EVENT_PAYLOAD_BYTES: usize = 16 * 1024;
    pub const CLICK_TO_ACT_VALUE: usize = 1000;
    pub const PANEL_WIDTH_MIN: u32 = 300;
    pub const PANEL_WIDTH_MAX: u32 = 10_000;
    pub const CONTEXT_KEYS: usize = 100;
    pub const CONTEXT_KEY: usize = 100;
    pub const CONTEXT_VALUE: usize = 2000;
    pub const CHANNEL_ORDER_MAX: i32 = 1000;
    pub const MAX_OPEN_SESSIONS: u32 = 10_000;
    pub const MAX_TABS_PER_SESSION: u32 = 100;
    pub const MAX_QUEUED_NOTIFICATIONS: u32 = 100;
}

/// The bad fields of one request, collected before anything is looked up.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one bad field.
    pub fn add(
        &mut self,
        field: impl Into<String>,
        reason: Reason,
        description: impl Into<String>,
    ) {
        self.0.push(FieldViolation {
            field: field.into(),
            reason,
            description: description.into(),
        });
    }

    /// `Ok` when nothing was recorded, else INVALID_ARGUMENT listing every bad field.
    pub fn finish(self) -> DomainResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::invalid(self.0))
        }
    }

    /// A required text of 1 to `max` characters.
    pub fn required_text(&mut self, field: &str, value: &str, max: usize) {
        if value.is_empty() {
            self.add(
                field,
                Reason::FieldRequired,
                format!("{field} is required: give 1 to {max} characters"),
            );
        } else {
            self.optional_text(field, value, max);
        }
    }

    /// An optional text of at most `max` characters.
    pub fn optional_text(&mut self, field: &str, value: &str, max: usize) {
        let length = value.chars().count();
        if length > max {
            self.add(
                field,
                Reason::FieldTooLong,
                format!("{field} is {length} characters long; the limit is {max}, shorten it"),
            );
        }
    }

    /// A required https URL of at most [`limits::URL`] characters.
    pub fn https_url(&mut self, field: &str, value: &str) {
        let before = self.0.len();
        self.required_text(field, value, limits::URL);
        if self.0.len() > before {
            return;
        }
        let host = value
            .strip_prefix("https://")
            .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
        match host {
            Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {}
            Some(_) => self.add(
                field,
                Reason::FieldMalformed,
                format!("{field} has no host after https://; give a URL such as https://widget.example.com/"),
            ),
            None => self.add(
                field,
                Reason::FieldMalformed,
                format!("{field} must be an https URL (https://...); the widget is only hosted over https"),
            ),
        }
    }

    /// A widget's URL: an https URL as [`Self::https_url`] wants, or, when the policy allows
    /// loopback http, also an http URL on this machine's loopback (127.0.0.1, localhost,
    /// [::1]), which browsers treat as a secure context: for developing and testing widgets.
    /// Never on the desk's own origin.
    pub fn channel_url(&mut self, field: &str, value: &str, policy: &UrlPolicy) {
        let before = self.0.len();
        self.widget_or_https_url(field, value, policy.loopback_http_widgets);
        if self.0.len() == before {
            self.off_desk_origin(field, value, policy);
        }
    }

    /// A third-party website a tab frames: an http or https URL, never on the desk's origin.
    pub fn website_url(&mut self, field: &str, value: &str, policy: &UrlPolicy) {
        let before = self.0.len();
        self.web_url(field, value);
        if self.0.len() == before {
            self.off_desk_origin(field, value, policy);
        }
    }

    fn off_desk_origin(&mut self, field: &str, value: &str, policy: &UrlPolicy) {
        if policy.on_desk_origin(value) {
            self.add(
                field,
                Reason::FieldMalformed,
                format!(
                    "{field} is on the agent desk's own origin, where a framed page could read the agent's credential; serve it from another origin"
                ),
            );
        }
    }

    fn widget_or_https_url(&mut self, field: &str, value: &str, loopback_http: bool) {
        if loopback_http && is_loopback_http(value) && value.chars().count() <= limits::URL {
            return;
        }
        let before = self.0.len();
        self.https_url(field, value);
        if loopback_http && self.0.len() > before && value.starts_with("http://") {
            self.0.truncate(before);
            self.add(
                field,
                Reason::FieldMalformed,
                format!(
                    "{field} must be an https URL, or an http URL on 127.0.0.1, localhost or [::1]"
                ),
            );
        }
    }

    /// A required http or https URL (a third-party website) of at most [`limits::URL`]
    /// characters.
    pub fn web_url(&mut self, field: &str, value: &str) {
        let before = self.0.len();
        self.required_text(field, value, limits::URL);
        if self.0.len() > before {
            return;
        }
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"));
        let has_host = rest.is_some_and(|rest| {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !host.contains(char::is_whitespace)
        });
        if !has_host {
            self.add(
                field,
                Reason::FieldMalformed,
                format!("{field} must be an http or https URL with a host, e.g. https://www.example.com/"),
            );
        }
    }

    /// A provider unique name: `<prefix>_<name>`, the prefix 3 to 8 letters or digits.
    pub fn unique_name(&mut self, field: &str, value: &str) {
        let before = self.0.len();
        self.required_text(field, value, limits::UNIQUE_NAME);
        if self.0.len() > before {
            return;
        }
        let well_formed = value.split_once('_').is_some_and(|(prefix, name)| {
            (3..=8).contains(&prefix.len())
                && prefix.chars().all(|c| c.is_ascii_alphanumeric())
                && !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if !well_formed {
            self.add(
                field,
                Reason::FieldMalformed,
                format!(
                    "{field} must look like <prefix>_<name>: a prefix of 3 to 8 letters or digits, an underscore, then letters, digits or underscores (e.g. contoso_phone)"
                ),
            );
        }
    }

    /// A number within `min..=max`.
    pub fn range<T: PartialOrd + std::fmt::Display>(
        &mut self,
        field: &str,
        value: T,
        min: T,
        max: T,
    ) {
        if value < min || value > max {
            self.add(
                field,
                Reason::FieldOutOfRange,
                format!("{field} is {value}; it must be between {min} and {max}"),
            );
        }
    }

    /// Parameters of a tab (a template's, or a call's overrides): names and values like context
    /// entries, and all of them together (as the page's JSON) within the tab parameters limit.
    pub fn tab_parameters(&mut self, field: &str, parameters: &BTreeMap<String, String>) {
        self.context(field, parameters);
        let size = serde_json::to_string(parameters).map_or(0, |json| json.chars().count());
        if size > limits::TAB_PARAMETERS {
            self.add(
                field,
                Reason::FieldTooLong,
                format!(
                    "{field} is {size} characters as JSON; the limit is {}",
                    limits::TAB_PARAMETERS
                ),
            );
        }
    }

    /// A session's automation dictionary: key count, key and value lengths.
    pub fn context(&mut self, field: &str, context: &BTreeMap<String, String>) {
        if context.len() > limits::CONTEXT_KEYS {
            self.add(
                field,
                Reason::FieldOutOfRange,
                format!(
                    "{field} has {} keys; the limit is {}, keep fewer",
                    context.len(),
                    limits::CONTEXT_KEYS
                ),
            );
        }
        for (key, value) in context {
            let path = format!("{field}[{key:?}]");
            if key.is_empty() {
                self.add(
                    &path,
                    Reason::FieldRequired,
                    format!(
                        "{field} has an empty key; every key needs 1 to {} characters",
                        limits::CONTEXT_KEY
                    ),
                );
            } else {
                self.optional_text(&format!("{field} key {key:?}"), key, limits::CONTEXT_KEY);
            }
            self.optional_text(&path, value, limits::CONTEXT_VALUE);
        }
    }
}

/// Which URLs the desk may frame: providers' widgets and website tabs.
#[derive(Debug, Clone, Default)]
pub struct UrlPolicy {
    /// Whether providers' channel URLs may be http on loopback, for developing widgets.
    pub loopback_http_widgets: bool,
    /// The origins the desk page is served on (`http://127.0.0.1:8080`), lowercase. A frame on
    /// one of them could read the agent's credential from the desk's storage.
    pub desk_origins: Vec<String>,
}

impl UrlPolicy {
    /// Whether `url` (http or https) is on one of the desk's origins.
    pub fn on_desk_origin(&self, url: &str) -> bool {
        origin_of(url).is_some_and(|origin| {
            self.desk_origins
                .iter()
                .any(|desk| origin_of(desk).as_ref() == Some(&origin))
        })
    }
}

/// A URL's origin as browsers compare it: scheme, host (lowercase) and port, the scheme's
/// default port written out.
fn origin_of(url: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials before the host do not change the origin.
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (host, port) = match authority.rfind(':') {
        Some(colon) if !authority[colon..].contains(']') => {
            (&authority[..colon], authority[colon + 1..].parse().ok()?)
        }
        _ => (authority, default_port),
    };
    Some((scheme, host.to_ascii_lowercase(), port))
}

/// Whether `url` is http on the loopback interface: `http://127.x.x.x`, `http://localhost`
/// or `http://[::1]`, with an optional port, then a path or nothing.
fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix("[::1]") {
        Some(port) => return port.is_empty() || is_port(port),
        None => authority,
    };
    let (host, port) = host.split_once(':').unwrap_or((host, ""));
    let loopback_v4 = host
        .parse::<std::net::Ipv4Addr>()
        .is_ok_and(|address| address.is_loopback());
    (loopback_v4 || host.eq_ignore_ascii_case("localhost"))
        && (port.is_empty() || is_port(&format!(":{port}")))
}

/// `:` then a port number.
fn is_port(text: &str) -> bool {
    text.strip_prefix(':')
        .is_some_and(|port| port.parse::<u16>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(check: impl FnOnce(&mut Violations)) -> Vec<Reason> {
        let mut violations = Violations::new();
        check(&mut violations);
        violations.0.iter().map(|v| v.reason).collect()
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let title: String = "é".repeat(200);
        assert!(reasons(|v| v.required_text("title", &title, 200)).is_empty());
        let title: String = "é".repeat(201);
        assert_eq!(
            reasons(|v| v.required_text("title", &title, 200)),
            [Reason::FieldTooLong]
        );
        assert_eq!(
            reasons(|v| v.required_text("title", "", 200)),
            [Reason::FieldRequired]
        );
    }

    fn loopback(allowed: bool) -> UrlPolicy {
        UrlPolicy {
            loopback_http_widgets: allowed,
            desk_origins: Vec::new(),
        }
    }

    #[test]
    fn nothing_framed_on_the_desks_origin() {
        let policy = UrlPolicy {
            loopback_http_widgets: true,
            desk_origins: vec![
                "http://127.0.0.1:8080".into(),
                "https://desk.example.com".into(),
            ],
        };
        for url in [
            "http://127.0.0.1:8080/widget",
            "HTTP://127.0.0.1:8080",
            "https://desk.example.com/desk/",
            "https://DESK.example.com:443/x",
            "https://user@desk.example.com/x",
        ] {
            assert!(policy.on_desk_origin(url), "{url}");
            assert_eq!(
                reasons(|v| v.website_url("u", url, &policy)),
                [Reason::FieldMalformed],
                "{url}"
            );
        }
        for url in [
            "http://127.0.0.1:8081/widget",
            "http://localhost:8080/",
            "https://desk.example.com:8443/",
            "http://desk.example.com/",
            "https://widget.example.com/?next=https://desk.example.com",
        ] {
            assert!(!policy.on_desk_origin(url), "{url}");
            assert!(
                reasons(|v| v.website_url("u", url, &policy)).is_empty(),
                "{url}"
            );
        }
        assert_eq!(
            reasons(|v| v.channel_url("u", "http://127.0.0.1:8080/w", &policy)),
            [Reason::FieldMalformed]
        );
    }

    #[test]
    fn loopback_http_widgets_only_when_allowed() {
        for url in [
            "http://127.0.0.1:8080/widget",
            "http://localhost/widget",
            "http://[::1]:9/",
            "http://127.0.0.2",
        ] {
            assert!(
                reasons(|v| v.channel_url("u", url, &loopback(true))).is_empty(),
                "{url}"
            );
            assert_eq!(
                reasons(|v| v.channel_url("u", url, &loopback(false))),
                [Reason::FieldMalformed],
                "{url}"
            );
        }
        for url in [
            "http://widget.example.com/",
            "http://127.0.0.1.example.com/",
            "http://localhost:99999/",
            "http://[::2]/",
        ] {
            assert_eq!(
                reasons(|v| v.channel_url("u", url, &loopback(true))),
                [Reason::FieldMalformed],
                "{url}"
            );
        }
        assert!(
            reasons(|v| v.channel_url("u", "https://widget.example.com/", &loopback(true)))
                .is_empty()
        );
    }

    #[test]
    fn only_https_urls_with_a_host_are_channel_urls() {
        assert!(reasons(|v| v.https_url("u", "https://widget.example.com/x?y")).is_empty());
        for bad in [
            "http://widget.example.com",
            "https://",
            "https:///path",
            "ftp://x",
            "widget.example.com",
        ] {
            assert_eq!(
                reasons(|v| v.https_url("u", bad)),
                [Reason::FieldMalformed],
                "{bad}"
            );
        }
        assert_eq!(reasons(|v| v.https_url("u", "")), [Reason::FieldRequired]);
        let long = format!("https://example.com/{}", "a".repeat(1024));
        assert_eq!(reasons(|v| v.https_url("u", &long)), [Reason::FieldTooLong]);
    }

    #[test]
    fn unique_names_have_a_short_alphanumeric_prefix() {
        for good in ["abc_x", "contoso1_phone_line", "ABCDEFGH_y"] {
            assert!(reasons(|v| v.unique_name("n", good)).is_empty(), "{good}");
        }
        for bad in [
            "ab_x",
            "abcdefghi_x",
            "abc_",
            "_abc",
            "abc",
            "ab-c_x",
            "abc_x-y",
            "abc_é",
        ] {
            assert_eq!(
                reasons(|v| v.unique_name("n", bad)),
                [Reason::FieldMalformed],
                "{bad}"
            );
        }
    }

    #[test]
    fn context_limits_keys_and_values() {
        let mut context = BTreeMap::new();
        context.insert(String::new(), "v".into());
        context.insert("k".repeat(101), "v".into());
        context.insert("ok".into(), "v".repeat(2001));
        assert_eq!(
            reasons(|v| v.context("context", &context)),
            [
                Reason::FieldRequired,
                Reason::FieldTooLong,
                Reason::FieldTooLong
            ]
        );
        let many: BTreeMap<_, _> = (0..101).map(|i| (i.to_string(), String::new())).collect();
        assert_eq!(
            reasons(|v| v.context("context", &many)),
            [Reason::FieldOutOfRange]
        );
    }

    #[test]
    fn finish_reports_every_field() {
        let mut violations = Violations::new();
        violations.required_text("a", "", 10);
        violations.range("b", 5, 0, 1);
        let error = violations.finish().unwrap_err();
        assert_eq!(error.reason, Reason::FieldRequired);
        assert_eq!(error.violations.len(), 2);
        assert!(error.message.contains("a is required") && error.message.contains("b is 5"));
    }
}
