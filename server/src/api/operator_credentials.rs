//! AdminService's operator credentials: created with a name, listed without their secret,
//! revoked at once. The configured operator token is not among them: it changes only with the
//! configuration.

use std::time::SystemTime;

use cif_sdk::ids::OperatorCredentialId;
use cif_sdk::pb;
use tonic::Status;

use super::audit::{Audit, Resource};
use super::call::operator_once as once;
use super::call::{Context, command, query};
use super::page_token::page_size;
use super::{convert, parse};
use crate::app::{CredentialKind, issue_credential};

pub async fn create(
    context: &Context,
    audit: Audit,
    request: pb::CreateOperatorCredentialRequest,
) -> Result<pb::CreateOperatorCredentialResponse, Status> {
    let once = once(&request.request_id, &request)?;
    let display_name =
        parse::required("operator_credential", request.operator_credential)?.display_name;
    let (credential, hash) = issue_credential(CredentialKind::Operator);
    let response = command(&context.state, once, move |plane| {
        let record = plane.create_operator_credential(display_name, hash, SystemTime::now())?;
        audit.created(plane, &Resource::OperatorCredential(record.id));
        Ok(pb::CreateOperatorCredentialResponse {
            operator_credential: Some(convert::operator_credential(&record)),
            credential,
        })
    })
    .await?
    .into_inner();
    if let Some(created) = &response.operator_credential {
        tracing::info!(operator_credential = %created.id, display_name = %created.display_name, "operator credential created");
    }
    Ok(response)
}

pub async fn list(
    context: &Context,
    request: pb::ListOperatorCredentialsRequest,
) -> Result<pb::ListOperatorCredentialsResponse, Status> {
    let limit = page_size(request.page_size)?;
    let key = "admin.operator_credentials";
    let after = context.page_tokens.read(key, &request.page_token)?;
    let ((operator_credentials, next), _) = query(&context.state, |core| {
        let page = core
            .plane
            .operator_credentials(after.map(OperatorCredentialId::from_uuid), limit);
        Ok((
            page.items
                .into_iter()
                .map(convert::operator_credential)
                .collect(),
            page.next,
        ))
    })
    .await?;
    Ok(pb::ListOperatorCredentialsResponse {
        operator_credentials,
        next_page_token: next
            .map(|next| context.page_tokens.issue(key, next.as_uuid()))
            .unwrap_or_default(),
    })
}

pub async fn revoke(
    context: &Context,
    audit: Audit,
    request: pb::RevokeOperatorCredentialRequest,
) -> Result<pb::RevokeOperatorCredentialResponse, Status> {
    let once = once(&request.request_id, &request)?;
    let id: OperatorCredentialId =
        parse::id("operator_credential_id", &request.operator_credential_id)?;
    let response = command(&context.state, once, move |plane| {
        audit.change(plane, &Resource::OperatorCredential(id), |plane| {
            plane.revoke_operator_credential(id)
        })?;
        Ok(pb::RevokeOperatorCredentialResponse {})
    })
    .await?
    .into_inner();
    tracing::info!(operator_credential = %id, "operator credential revoked");
    Ok(response)
}
