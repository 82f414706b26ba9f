//! Changes to the registry: create, change (with optimistic concurrency on `version`),
//! delete (irreversible; links from persons to a deleted company are cut) and merge (fields
//! united into the survivor, the others left as pointers to it, links moved, all in one
//! commit). Each holds the registry's write lock from its checks to its commit.

use std::collections::BTreeSet;

use super::input::{self, ContactInput, FieldError};
use super::model::{Contact, Kind, Stored};
use super::registry::Registry;
use super::search::Viewer;
use super::view::View;
use super::ContactError;

/// Contacts folded into one by a single merge at most.
pub const MERGE_FROM_MAX: usize = 100;

impl Registry {
    /// Checks references an input makes: operators known, `company_id` a live company.
    pub(super) fn check_references(
        &self,
        view: &View<'_>,
        input: &ContactInput,
    ) -> Result<(), ContactError> {
        for (field, id) in input.operators_named() {
            if !(self.operators)(id) {
                return Err(FieldError::new(field, format!("no operator \"{id}\"")).into());
            }
        }
        if let Some(Some(company)) = input.company_id {
            match view.stored(company)? {
                Some(Stored::Live(c)) if c.kind == Kind::Company => {}
                _ => {
                    return Err(FieldError::new(
                        "company_id",
                        format!("no company contact {company}"),
                    )
                    .into())
                }
            }
        }
        Ok(())
    }

    /// A new contact built from `input` (not stored), with its warnings.
    pub(super) fn build(
        &self,
        view: &View<'_>,
        id: u64,
        input: &ContactInput,
        source: &str,
    ) -> Result<(Contact, Vec<String>), ContactError> {
        let Some(kind) = input.kind else {
            return Err(FieldError::new("kind", "required: \"person\" or \"company\"").into());
        };
        self.check_references(view, input)?;
        let now = self.now_ms();
        let mut contact = Contact::blank(id, kind, source, now);
        let warnings = input::apply(input, &mut contact, &self.settings)?;
        Ok((contact, warnings))
    }

    /// Creates a contact from `input`; durable on return.
    pub async fn create(
        &self,
        input: &ContactInput,
        source: &str,
    ) -> Result<(Contact, Vec<String>), ContactError> {
        let _writing = self.writes.lock().await;
        let (contact, warnings) = {
            let id = self.state.read().next_id;
            self.build(&self.view()?, id, input, source)?
        };
        self.commit(
            vec![(contact.id, Stored::Live(Box::new(contact.clone())))],
            vec![],
        )
        .await?;
        Ok((contact, warnings))
    }

    /// Changes contact `id` as `input` says, if `input.version` is its current version and
    /// `viewer` may see it; durable on return.
    pub async fn update(
        &self,
        id: u64,
        input: &ContactInput,
        viewer: &Viewer,
    ) -> Result<(Contact, Vec<String>), ContactError> {
        let Some(edited) = input.version else {
            return Err(FieldError::new(
                "version",
                "required: the version the change was made against",
            )
            .into());
        };
        let _writing = self.writes.lock().await;
        let (contact, warnings) = {
            let view = self.view()?;
            let current = view.live(id)?;
            if !viewer.may_see(&current) {
                return Err(ContactError::Forbidden(id));
            }
            if current.version != edited {
                return Err(ContactError::Conflict {
                    id,
                    current: current.version,
                    edited,
                });
            }
            self.check_references(&view, input)?;
            if input.company_id == Some(Some(id)) {
                return Err(
                    FieldError::new("company_id", "a contact cannot link to itself").into(),
                );
            }
            let mut contact = current.clone();
            let warnings = input::apply(input, &mut contact, &self.settings)?;
            contact.version = current.version.saturating_add(1);
            contact.updated_ts = self.now_ms().max(current.updated_ts);
            (contact, warnings)
        };
        self.commit(vec![(id, Stored::Live(Box::new(contact.clone())))], vec![])
            .await?;
        Ok((contact, warnings))
    }

    /// Deletes contact `id` for good (its photo too); persons linked to it as their company
    /// lose the link. With `erase` its closed chats' personal data and its interaction log are
    /// erased in the same commit (see `erase.rs`), and the deletion records how many chats that
    /// was. Answers that number.
    pub async fn delete(&self, id: u64, erase: bool) -> Result<u64, ContactError> {
        let _writing = self.writes.lock().await;
        let (writes, extra, erased_chats) = {
            let view = self.view()?;
            view.live(id)?;
            let now = self.now_ms();
            let (extra, erased_chats) = match erase {
                true => self.erasure(&view, id)?,
                false => (Vec::new(), 0),
            };
            let mut writes = unlinked(&view, &[id], None, now)?;
            writes.push((
                id,
                Stored::Deleted {
                    ts: now,
                    erased: erase,
                    erased_chats,
                },
            ));
            (writes, extra, erased_chats)
        };
        self.commit_with(writes, vec![(id, None)], extra).await?;
        Ok(erased_chats)
    }

    /// Folds the contacts `from` into `into`: lists united (the survivor's primaries kept),
    /// its empty fields filled from the others, persons linked to any of them linked to it;
    /// the others answer with a pointer to it from then on. One durable commit.
    pub async fn merge(&self, into: u64, from: &[u64]) -> Result<Contact, ContactError> {
        let from: BTreeSet<u64> = from.iter().copied().filter(|id| *id != into).collect();
        if from.is_empty() {
            return Err(FieldError::new("from", "list at least one other contact id").into());
        }
        if from.len() > MERGE_FROM_MAX {
            return Err(FieldError::new("from", format!("more than {MERGE_FROM_MAX} ids")).into());
        }
        let _writing = self.writes.lock().await;
        let (survivor, writes) = {
            let view = self.view()?;
            let mut survivor = view.live(into)?;
            let now = self.now_ms();
            let mut others = Vec::new();
            for (i, id) in from.iter().enumerate() {
                let other = view.live(*id).map_err(|e| {
                    ContactError::Invalid(FieldError::new(format!("from[{i}]"), e.to_string()))
                })?;
                if other.kind != survivor.kind {
                    return Err(FieldError::new(
                        format!("from[{i}]"),
                        format!(
                            "contact {id} is a {}; contact {into} is a {}",
                            other.kind.as_str(),
                            survivor.kind.as_str()
                        ),
                    )
                    .into());
                }
                others.push(other);
            }
            for other in &others {
                unite(&mut survivor, other);
            }
            if survivor.company_id.is_some_and(|c| from.contains(&c)) {
                survivor.company_id = None;
            }
            survivor.version = survivor.version.saturating_add(1);
            survivor.updated_ts = now.max(survivor.updated_ts);
            let gone: Vec<u64> = from.iter().copied().collect();
            let mut writes = unlinked(&view, &gone, Some(into), now)?;
            writes.retain(|(id, _)| *id != into);
            writes.push((into, Stored::Live(Box::new(survivor.clone()))));
            writes.extend(
                gone.iter()
                    .map(|id| (*id, Stored::Merged { into, ts: now })),
            );
            (survivor, writes)
        };
        self.commit(writes, vec![]).await?;
        Ok(survivor)
    }

    /// Stores `png` as contact `id`'s photo; durable on return.
    pub async fn set_photo(&self, id: u64, png: Vec<u8>) -> Result<Contact, ContactError> {
        let _writing = self.writes.lock().await;
        let contact = {
            let mut contact = self.view()?.live(id)?;
            contact.photo = true;
            contact.version = contact.version.saturating_add(1);
            contact.updated_ts = self.now_ms().max(contact.updated_ts);
            contact
        };
        self.commit(
            vec![(id, Stored::Live(Box::new(contact.clone())))],
            vec![(id, Some(png))],
        )
        .await?;
        Ok(contact)
    }
}

/// Persons whose company is one of `gone`, relinked to `to` (or unlinked), as writes.
fn unlinked(
    view: &View<'_>,
    gone: &[u64],
    to: Option<u64>,
    now: u64,
) -> Result<Vec<(u64, Stored)>, ContactError> {
    let mut writes = Vec::new();
    for company in gone {
        for mut c in view.persons_of(*company)? {
            c.company_id = to.filter(|to| *to != c.id);
            c.version = c.version.saturating_add(1);
            c.updated_ts = now.max(c.updated_ts);
            writes.push((c.id, Stored::Live(Box::new(c))));
        }
    }
    Ok(writes)
}

/// Folds `other` into `survivor`: lists united without repeats, empty fields filled.
fn unite(survivor: &mut Contact, other: &Contact) {
    for email in &other.emails {
        let key = super::normalize::email_key(&email.value);
        if !survivor
            .emails
            .iter()
            .any(|e| super::normalize::email_key(&e.value) == key)
        {
            let mut email = email.clone();
            email.primary = email.primary && !survivor.emails.iter().any(|e| e.primary);
            survivor.emails.push(email);
        }
    }
    for phone in &other.phones {
        if !survivor.phones.iter().any(|p| p.value == phone.value) {
            let mut phone = phone.clone();
            phone.primary = phone.primary && !survivor.phones.iter().any(|p| p.primary);
            survivor.phones.push(phone);
        }
    }
    for (list, more) in [
        (&mut survivor.websites, &other.websites),
        (&mut survivor.addresses, &other.addresses),
        (&mut survivor.tags, &other.tags),
        (&mut survivor.client_ids, &other.client_ids),
        (&mut survivor.external_ids, &other.external_ids),
    ] {
        for item in more {
            if !list.contains(item) {
                list.push(item.clone());
            }
        }
    }
    for (slot, value) in [
        (&mut survivor.first_name, &other.first_name),
        (&mut survivor.last_name, &other.last_name),
        (&mut survivor.company_name, &other.company_name),
        (&mut survivor.position, &other.position),
        (&mut survivor.description, &other.description),
        (&mut survivor.kind_type, &other.kind_type),
        (&mut survivor.responsible, &other.responsible),
    ] {
        if slot.is_none() {
            slot.clone_from(value);
        }
    }
    if survivor.company_id.is_none() && survivor.kind == Kind::Person {
        survivor.company_id = other.company_id.filter(|c| *c != survivor.id);
    }
    for (name, value) in &other.custom {
        survivor
            .custom
            .entry(name.clone())
            .or_insert_with(|| value.clone());
    }
    survivor.created_ts = survivor.created_ts.min(other.created_ts);
}
