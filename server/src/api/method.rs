//! What a request path names, read once for every layer that asks: the role its service
//! needs, whether it is work in flight, whether a follower forwards it, and the bounded label
//! the metrics count it under. Anyone can send a call to any path.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::domain::Role;

/// What a request path is, to a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Call {
    /// A cif.v1 call that changes the state: a follower forwards it.
    Change,
    /// A cif.v1 read or stream: served here.
    Read,
    /// Anything else (health, reflection, pages): served here as it is.
    Other,
}

/// A request's method, as its path names it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Method {
    /// The path when it names a method cifd serves, else `unknown`: labels must stay a
    /// bounded set, and a static one copies no path per call.
    pub label: &'static str,
    /// The role its service serves; `None` for the open services (health, reflection).
    pub role: Option<Role>,
    pub call: Call,
    /// Whether the call is work in flight while it runs: streams stay open for as long as
    /// their reader wants, and a toast's call waits for the agent, so neither is.
    pub is_work: bool,
}

impl Method {
    pub fn of(path: &str) -> Self {
        let (service, name) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or_default();
        let role = match service {
            "cif.v1.ProviderService" => Some(Role::Provider),
            "cif.v1.AgentService" => Some(Role::Agent),
            "cif.v1.AdminService" => Some(Role::Operator),
            _ => None,
        };
        let reads = name.starts_with("Get")
            || name.starts_with("List")
            || matches!(name, "Subscribe" | "Watch" | "CanCreateSession");
        Self {
            label: label(path),
            role,
            call: match role {
                None => Call::Other,
                Some(_) if reads => Call::Read,
                Some(_) => Call::Change,
            },
            is_work: !matches!(name, "Subscribe" | "Watch" | "NotifyEvent"),
        }
    }
}

fn label(path: &str) -> &'static str {
    static SERVED: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let served = SERVED.get_or_init(|| {
        [
            cif_sdk::pb::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ]
        .into_iter()
        .flat_map(|encoded| {
            let set = <prost_types::FileDescriptorSet as prost::Message>::decode(encoded)
                .expect("the compiled-in descriptors decode");
            set.file
        })
        .flat_map(|file| {
            let package = file.package().to_owned();
            file.service.into_iter().flat_map(move |service| {
                let prefix = format!("/{package}.{}/", service.name());
                service
                    .method
                    .into_iter()
                    // Leaked once: a fixed set of paths, labels for the server's lifetime.
                    .map(move |method| -> &'static str {
                        format!("{prefix}{}", method.name()).leak()
                    })
            })
        })
        .collect()
    });
    served.get(path).copied().unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cif_services_need_a_role() {
        let role = |path| Method::of(path).role;
        assert_eq!(
            role("/cif.v1.ProviderService/CreateSession"),
            Some(Role::Provider)
        );
        assert_eq!(role("/cif.v1.AgentService/GetDesk"), Some(Role::Agent));
        assert_eq!(role("/cif.v1.AdminService/GetDesk"), Some(Role::Operator));
        assert_eq!(role("/grpc.health.v1.Health/Check"), None);
        assert_eq!(
            role("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
            None
        );
    }

    #[test]
    fn streams_and_toasts_waiting_for_the_agent_are_not_work_in_flight() {
        let work = |path| Method::of(path).is_work;
        assert!(work("/cif.v1.ProviderService/CreateSession"));
        assert!(work("/cif.v1.AgentService/GetDesk"));
        assert!(!work("/cif.v1.ProviderService/Subscribe"));
        assert!(!work("/cif.v1.AgentService/Subscribe"));
        assert!(!work("/cif.v1.AdminService/Watch"));
        assert!(!work("/cif.v1.ProviderService/NotifyEvent"));
    }

    #[test]
    fn changes_are_forwarded_and_reads_and_streams_are_served_here() {
        let call = |path| Method::of(path).call;
        for changing in [
            "/cif.v1.ProviderService/CreateSession",
            "/cif.v1.ProviderService/NotifyEvent",
            "/cif.v1.AgentService/SwitchSession",
            "/cif.v1.AdminService/CreateProvider",
        ] {
            assert_eq!(call(changing), Call::Change, "{changing}");
        }
        for here in [
            "/cif.v1.ProviderService/GetSession",
            "/cif.v1.ProviderService/ListTabs",
            "/cif.v1.ProviderService/Subscribe",
            "/cif.v1.ProviderService/CanCreateSession",
            "/cif.v1.AdminService/Watch",
        ] {
            assert_eq!(call(here), Call::Read, "{here}");
        }
        for other in ["/grpc.health.v1.Health/Check", "/desk/", "/"] {
            assert_eq!(call(other), Call::Other, "{other}");
        }
    }

    #[test]
    fn only_served_methods_are_labels() {
        assert_eq!(
            Method::of("/cif.v1.AgentService/GetDesk").label,
            "/cif.v1.AgentService/GetDesk"
        );
        assert_eq!(Method::of("/cif.v1.AgentService/Nothing").label, "unknown");
        assert_eq!(Method::of("/made/up").label, "unknown");
    }
}
