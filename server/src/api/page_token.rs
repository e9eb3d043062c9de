//! Page tokens (AIP-158): opaque to clients, bound to the query they came from, and signed so
//! they cannot be forged or moved to another query. The signing key is made at startup, so a
//! token from an earlier server run is refused with a message saying to start over.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::domain::validate::Violations;
use crate::domain::{DomainError, DomainResult, Reason};

/// Page size when a request gives none.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Larger page sizes are served as this.
pub const MAX_PAGE_SIZE: usize = 1000;

const TAG_LEN: usize = 16;

/// Issues and checks page tokens with this process's key.
pub struct PageTokens {
    key: [u8; 32],
}

impl PageTokens {
    /// Tokens signed with a key made now: tokens of earlier runs are refused.
    pub fn with_random_key() -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system's random source works");
        Self { key }
    }

    fn tag(&self, query: &str, cursor: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length works");
        mac.update(query.as_bytes());
        mac.update(&[0]);
        mac.update(cursor);
        let full = mac.finalize().into_bytes();
        full[..TAG_LEN]
            .try_into()
            .expect("a SHA-256 MAC is longer than the tag")
    }

    /// A token for the page after `cursor` of `query` (a description of the caller and every
    /// request field except the page fields).
    pub fn issue(&self, query: &str, cursor: Uuid) -> String {
        self.issue_bytes(query, cursor.as_bytes())
    }

    /// The cursor in `token`, `None` for the first page; refuses tokens not issued for `query`.
    pub fn read(&self, query: &str, token: &str) -> DomainResult<Option<Uuid>> {
        self.read_bytes(query, token)?
            .map(|cursor| Uuid::from_slice(&cursor).map_err(|_| refused()))
            .transpose()
    }

    /// A token for a cursor of any bytes (e.g. a unique name).
    pub fn issue_bytes(&self, query: &str, cursor: &[u8]) -> String {
        let mut bytes = cursor.to_vec();
        bytes.extend_from_slice(&self.tag(query, cursor));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The bytes cursor in `token`, `None` for the first page.
    pub fn read_bytes(&self, query: &str, token: &str) -> DomainResult<Option<Vec<u8>>> {
        if token.is_empty() {
            return Ok(None);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| refused())?;
        if bytes.len() < TAG_LEN {
            return Err(refused());
        }
        let (cursor, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        let expected = self.tag(query, cursor);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(tag, &expected[..])) {
            return Err(refused());
        }
        Ok(Some(cursor.to_vec()))
    }
}

fn refused() -> DomainError {
    let mut violations = Violations::new();
    violations.add(
        "page_token",
        Reason::PageTokenInvalid,
        "page_token was not issued for this query: it comes from another list call, other filter fields, or an earlier server run; start again with an empty page_token",
    );
    violations.finish().expect_err("one violation")
}

/// The number of items to return for a requested `page_size`.
pub fn page_size(requested: i32) -> DomainResult<usize> {
    let mut violations = Violations::new();
    violations.range("page_size", requested, 0, i32::MAX);
    violations.finish()?;
    Ok(match usize::try_from(requested).unwrap_or(0) {
        0 => DEFAULT_PAGE_SIZE,
        size => size.min(MAX_PAGE_SIZE),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_reads_back_only_for_its_own_query() {
        let tokens = PageTokens::with_random_key();
        let cursor = Uuid::now_v7();
        let token = tokens.issue("sessions agent=a", cursor);
        assert_eq!(
            tokens.read("sessions agent=a", &token).unwrap(),
            Some(cursor)
        );
        assert_eq!(
            tokens.read("sessions agent=b", &token).unwrap_err().reason,
            Reason::PageTokenInvalid
        );
        assert_eq!(
            tokens.read("x", "not base64!").unwrap_err().reason,
            Reason::PageTokenInvalid
        );
        let other_server = PageTokens::with_random_key();
        assert!(other_server.read("sessions agent=a", &token).is_err());
        assert_eq!(tokens.read("anything", "").unwrap(), None);
    }

    #[test]
    fn page_sizes_default_and_cap() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(5).unwrap(), 5);
        assert_eq!(page_size(1_000_000).unwrap(), MAX_PAGE_SIZE);
        assert_eq!(page_size(-1).unwrap_err().reason, Reason::FieldOutOfRange);
    }
}
