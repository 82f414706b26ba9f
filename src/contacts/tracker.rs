//! The chat tracker's recognition step: who is this client? A verified identity (signed by
//! the site) links to, or creates, its contact; a returning browser (its client id remembered
//! on a contact) links to that contact; an email or phone typed into the widget that matches an
//! existing contact only marks the chat `unverified_match` for an operator to confirm (anyone
//! can type someone else's email); a client who left a way to reach them and matches nobody
//! becomes a new contact when the line creates leads automatically.
//!
//! Every contact created or changed here is durable before the answer.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::input::{ChannelInput, ContactInput};
use super::interactions::family;
use super::keys;
use super::model::{Contact, Kind};
use super::registry::Registry;
use super::search::Viewer;
use super::{normalize, ContactError};
use crate::config::{CreateLead, CrmConfig};
use crate::protocol::widget::Identity;
use crate::protocol::ContactCard;

/// Client ids remembered on one contact at most (the oldest are forgotten).
pub const CLIENT_IDS_MAX: usize = 50;

/// What a client told about itself.
#[derive(Clone, Debug, Default)]
pub struct Claim<'a> {
    pub line: &'a str,
    pub client_id: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub identity: Option<&'a Identity>,
}

/// What recognition found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recognized {
    /// The contact the chat is linked to.
    pub contact: Option<ContactCard>,
    /// An existing contact whose email or phone was only claimed.
    pub unverified_match: Option<u64>,
    /// Whether a new contact was created for this client.
    pub created: bool,
    /// Why a passed identity was not used (its hmac did not match, or the line has no secret).
    pub identity_refused: Option<&'static str>,
}

/// Whether `hmac` (hex) is HMAC-SHA256 of `external_id` under `secret`, compared in constant
/// time.
pub fn identity_verified(secret: &str, identity: &Identity) -> bool {
    let Ok(expected) = hex::decode(identity.hmac.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(identity.external_id.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

impl Registry {
    /// Recognizes the client of `claim` on a line with settings `crm`.
    pub async fn recognize(
        &self,
        claim: &Claim<'_>,
        crm: &CrmConfig,
    ) -> Result<Recognized, ContactError> {
        let mut found = Recognized::default();
        if !crm.identify {
            return Ok(found);
        }
        if let Some(identity) = claim.identity {
            match crm.identity_secret.as_deref() {
                Some(secret) if identity_verified(secret, identity) => {
                    let id = self.verified(claim, identity, crm).await?;
                    found.created = id.1;
                    found.contact = id.0.map(|c| self.card(&c));
                    return Ok(found);
                }
                Some(_) => found.identity_refused = Some("identity.hmac does not match"),
                None => found.identity_refused = Some("this line verifies no identities"),
            }
        }
        if let Some(contact) = self.returning(claim.client_id)? {
            found.contact = Some(self.card(&contact));
            return Ok(found);
        }
        if let Some(candidate) = self.claimed(claim)? {
            found.unverified_match = Some(candidate);
            return Ok(found);
        }
        let reachable = claim.email.is_some_and(|e| !e.trim().is_empty())
            || claim.phone.is_some_and(|p| !p.trim().is_empty());
        if crm.create_lead == CreateLead::Auto && reachable {
            let contact = self.create_lead(claim, None).await?;
            found.contact = Some(self.card(&contact));
            found.created = true;
        }
        Ok(found)
    }

    /// The contact of a verified identity: found by its external id, else by its email, else
    /// created (unless the line creates no contacts). Returns it and whether it is new.
    async fn verified(
        &self,
        claim: &Claim<'_>,
        identity: &Identity,
        crm: &CrmConfig,
    ) -> Result<(Option<Contact>, bool), ContactError> {
        let view = self.view()?;
        let by_external = view.read().ids(&keys::external(&identity.external_id))?;
        let by_email = match identity.email.as_deref() {
            Some(email) => view.by_email(email)?,
            None => Vec::new(),
        };
        drop(view);
        if let Some(id) = by_external.first().or(by_email.first()) {
            let contact = self
                .remember(*id, claim.client_id, Some(&identity.external_id))
                .await?;
            return Ok((Some(contact), false));
        }
        if crm.create_lead == CreateLead::None {
            return Ok((None, false));
        }
        let claim = Claim {
            name: identity.name.as_deref().or(claim.name),
            email: identity.email.as_deref().or(claim.email),
            ..claim.clone()
        };
        let contact = self
            .create_lead(&claim, Some(&identity.external_id))
            .await?;
        Ok((Some(contact), true))
    }

    /// The live contact this client id is remembered on, if any.
    fn returning(&self, client_id: &str) -> Result<Option<Contact>, ContactError> {
        let view = self.view()?;
        for id in view.read().ids(&keys::client(client_id))? {
            if let Ok(contact) = view.live(id) {
                return Ok(Some(contact));
            }
        }
        Ok(None)
    }

    /// An existing contact with the email (first) or phone the client typed.
    fn claimed(&self, claim: &Claim<'_>) -> Result<Option<u64>, ContactError> {
        if let Some(email) = claim.email.filter(|e| !e.trim().is_empty()) {
            if let Some(id) = self.by_email(email)?.first() {
                return Ok(Some(*id));
            }
        }
        if let Some(phone) = claim.phone.filter(|p| !p.trim().is_empty()) {
            if let Some(id) = self.by_phone(phone)?.first() {
                return Ok(Some(*id));
            }
        }
        Ok(None)
    }

    /// A new person from what the client told, its source the line's widget.
    async fn create_lead(
        &self,
        claim: &Claim<'_>,
        external_id: Option<&str>,
    ) -> Result<Contact, ContactError> {
        let channel = |value: Option<&str>| {
            value.map(str::trim).filter(|v| !v.is_empty()).map(|v| {
                vec![ChannelInput {
                    value: v.to_string(),
                    primary: true,
                }]
            })
        };
        // A person needs a name: without one the lead is named after how to reach them.
        let name = [claim.name, claim.email, claim.phone]
            .into_iter()
            .flatten()
            .map(str::trim)
            .find(|n| !n.is_empty())
            .map(String::from);
        let input = ContactInput {
            kind: Some(Kind::Person),
            first_name: Some(name),
            emails: channel(
                claim
                    .email
                    .filter(|e| normalize::email_key(e).contains('@')),
            ),
            phones: channel(claim.phone),
            ..ContactInput::default()
        };
        let source = format!("line:{}/widget", claim.line);
        let (contact, _) = self.create(&input, &source).await?;
        self.remember(contact.id, claim.client_id, external_id)
            .await
    }

    /// Remembers `client_id` (and `external_id`) on contact `id` (its survivor if merged),
    /// durably; the contact as it is then.
    pub async fn remember(
        &self,
        id: u64,
        client_id: &str,
        external_id: Option<&str>,
    ) -> Result<Contact, ContactError> {
        let _writing = self.writes.lock().await;
        let id = self.resolve(id)?;
        let mut contact = self.view()?.live(id)?;
        let new_client =
            !client_id.is_empty() && !contact.client_ids.iter().any(|c| c == client_id);
        let new_external =
            external_id.is_some_and(|x| !contact.external_ids.iter().any(|e| e == x));
        if !new_client && !new_external {
            return Ok(contact);
        }
        if new_client {
            contact.client_ids.push(client_id.to_string());
            let over = contact.client_ids.len().saturating_sub(CLIENT_IDS_MAX);
            contact.client_ids.drain(..over);
        }
        if let Some(x) = external_id.filter(|_| new_external) {
            contact.external_ids.push(x.to_string());
        }
        contact.version = contact.version.saturating_add(1);
        contact.updated_ts = self.now_ms().max(contact.updated_ts);
        self.commit(
            vec![(id, super::Stored::Live(Box::new(contact.clone())))],
            vec![],
        )
        .await?;
        Ok(contact)
    }

    /// Makes `operator` responsible for contact `id` if it was created from line `line`'s
    /// chats (`source` `line:<line>/…`); durable on return. Whether it changed.
    pub async fn reassign(
        &self,
        id: u64,
        line: &str,
        operator: &str,
    ) -> Result<bool, ContactError> {
        let _writing = self.writes.lock().await;
        let id = self.resolve(id)?;
        let mut contact = self.view()?.live(id)?;
        let from_line = contact
            .source
            .strip_prefix("line:")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(source_line, _)| source_line == line);
        if !from_line || contact.responsible.as_deref() == Some(operator) {
            return Ok(false);
        }
        contact.responsible = Some(operator.to_string());
        contact.version = contact.version.saturating_add(1);
        contact.updated_ts = self.now_ms().max(contact.updated_ts);
        self.commit(vec![(id, super::Stored::Live(Box::new(contact)))], vec![])
            .await?;
        Ok(true)
    }

    /// The compact card of `contact`, with the time of its newest interaction.
    pub fn card(&self, contact: &Contact) -> ContactCard {
        ContactCard {
            id: contact.id,
            name: contact.display_name(),
            company: contact.company_name.clone(),
            kind_type: contact.kind_type.clone(),
            tags: contact.tags.clone(),
            responsible: contact.responsible.clone(),
            last_interaction_ts: self.last_interaction(contact.id).ok().flatten(),
            allowed_operators: contact.allowed_operators.clone(),
        }
    }

    /// The card of contact `id` (its survivor if merged) as `viewer` may see it.
    pub fn card_of(&self, id: u64, viewer: &Viewer) -> Result<ContactCard, ContactError> {
        let contact = self.get(self.resolve(id)?, viewer)?;
        Ok(self.card(&contact))
    }

    fn last_interaction(&self, id: u64) -> Result<Option<u64>, ContactError> {
        let view = self.view()?;
        let mut newest = None;
        for owner in family(&view, id)? {
            if let Some(((ts, _), _)) = view.read().interactions(owner, None, 1)?.first() {
                newest = newest.max(Some(*ts));
            }
        }
        Ok(newest)
    }
}
