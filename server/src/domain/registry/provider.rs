//! The provider record (CIF msdyn_channelprovider) and its rules.

use std::time::SystemTime;

use cif_sdk::ids::ProviderId;

use crate::domain::error::{DomainResult, Reason};
use crate::domain::principal::CredentialHash;
use crate::domain::validate::{UrlPolicy, Violations, limits};

/// The only CIF API version providers may declare.
const CIF_API_VERSION: &str = "2";

/// The fields of a provider an operator may change after creation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProviderFields {
    pub display_name: String,
    pub label: String,
    pub channel_url: String,
    pub enable_outbound: bool,
    pub channel_order: i32,
    pub api_version: String,
    pub trusted_domain: String,
    pub custom_parameters: String,
    pub enable_analytics: bool,
}

/// A provider to create.
#[derive(Debug, Clone)]
pub struct NewProvider {
    pub unique_name: String,
    pub fields: ProviderFields,
    pub active: bool,
}

/// Changes to a provider: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProviderPatch {
    pub display_name: Option<String>,
    pub label: Option<String>,
    pub channel_url: Option<String>,
    pub enable_outbound: Option<bool>,
    pub channel_order: Option<i32>,
    pub api_version: Option<String>,
    pub trusted_domain: Option<String>,
    pub custom_parameters: Option<String>,
    pub enable_analytics: Option<bool>,
}

/// A stored provider.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ProviderRecord {
    pub id: ProviderId,
    pub unique_name: String,
    pub fields: ProviderFields,
    pub active: bool,
    pub created: SystemTime,
    pub updated: SystemTime,
    pub credential: CredentialHash,
    /// Declared by the configuration file: its fields change only with the file.
    #[serde(default)]
    pub managed: bool,
}

impl NewProvider {
    /// `urls`: where widgets may be served from.
    pub fn validate(&self, urls: &UrlPolicy) -> DomainResult<()> {
        let mut violations = Violations::new();
        violations.unique_name("provider.unique_name", &self.unique_name);
        ProviderPatch::from(self.fields.clone()).check(&mut violations, urls);
        violations.finish()
    }
}

impl From<ProviderFields> for ProviderPatch {
    fn from(fields: ProviderFields) -> Self {
        Self {
            display_name: Some(fields.display_name),
            label: Some(fields.label),
            channel_url: Some(fields.channel_url),
            enable_outbound: Some(fields.enable_outbound),
            channel_order: Some(fields.channel_order),
            api_version: Some(fields.api_version),
            trusted_domain: Some(fields.trusted_domain),
            custom_parameters: Some(fields.custom_parameters),
            enable_analytics: Some(fields.enable_analytics),
        }
    }
}

impl ProviderPatch {
    /// `urls`: as for [`NewProvider::validate`].
    pub fn validate(&self, urls: &UrlPolicy) -> DomainResult<()> {
        let mut violations = Violations::new();
        self.check(&mut violations, urls);
        violations.finish()
    }

    fn check(&self, violations: &mut Violations, urls: &UrlPolicy) {
        if let Some(name) = &self.display_name {
            violations.required_text("provider.display_name", name, limits::NAME);
        }
        if let Some(label) = &self.label {
            violations.required_text("provider.label", label, limits::NAME);
        }
        if let Some(url) = &self.channel_url {
            violations.channel_url("provider.channel_url", url, urls);
        }
        if let Some(order) = self.channel_order {
            violations.range(
                "provider.channel_order",
                order,
                0,
                limits::CHANNEL_ORDER_MAX,
            );
        }
        if let Some(version) = &self.api_version
            && !version.is_empty()
            && version != CIF_API_VERSION
        {
            violations.add(
                "provider.api_version",
                Reason::FieldOutOfRange,
                format!("provider.api_version is {version:?}; only \"2\" (CIF 2.0) is supported, or leave it empty"),
            );
        }
        if let Some(domain) = &self.trusted_domain {
            violations.optional_text("provider.trusted_domain", domain, limits::TRUSTED_DOMAIN);
        }
        if let Some(parameters) = &self.custom_parameters {
            violations.optional_text(
                "provider.custom_parameters",
                parameters,
                limits::CUSTOM_PARAMETERS,
            );
        }
    }

    /// Applies the patch to `fields` (already validated).
    pub fn apply(self, fields: &mut ProviderFields) {
        let ProviderPatch {
            display_name,
            label,
            channel_url,
            enable_outbound,
            channel_order,
            api_version,
            trusted_domain,
            custom_parameters,
            enable_analytics,
        } = self;
        set(&mut fields.display_name, display_name);
        set(&mut fields.label, label);
        set(&mut fields.channel_url, channel_url);
        set(&mut fields.enable_outbound, enable_outbound);
        set(&mut fields.channel_order, channel_order);
        set(&mut fields.api_version, api_version);
        set(&mut fields.trusted_domain, trusted_domain);
        set(&mut fields.custom_parameters, custom_parameters);
        set(&mut fields.enable_analytics, enable_analytics);
        if fields.api_version.is_empty() {
            fields.api_version = CIF_API_VERSION.to_owned();
        }
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}
