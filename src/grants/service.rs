//! `UsersService`: the typed counterpart of the grants app's TypeScript `usersService`.

use serde::Deserialize;
use uuid::Uuid;

use super::{InteractionAction, InteractionRow, NewInteraction, UserInteraction};
use crate::error::{Error, Result};
use crate::{Client, One, Order, RequestTemplate, Statused, UpsertBuilder, WithStatus};

const TABLE: &str = "user_interactions";
/// The columns of `user_interactions_user_id_grant_id_key`.
const CONFLICT_TARGET: &str = "user_id,grant_id";

/// The user-facing operations on `user_interactions`.
///
/// Give it a client carrying the signed-in user's JWT ([`Client::with_access_token`]) so that
/// row-level security applies; the `user_id` arguments must be that user's id.
///
/// ```no_run
/// use supabase_rest::Client;
/// use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
///
/// # async fn run(user_jwt: String, user_id: uuid::Uuid, grant_id: uuid::Uuid) -> supabase_rest::Result<()> {
/// let client = Client::new("https://xyz.supabase.co", "anon-key")?.with_access_token(user_jwt);
/// let users = UsersService::new(client);
/// let row = users
///     .record_user_interaction(user_id, NewInteraction::new(grant_id, InteractionAction::Saved))
///     .await?;
/// assert_eq!(row.action, InteractionAction::Saved);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct UsersService {
    client: Client,
    /// The shape of `record_user_interaction`'s request, made once. `None` when the client
    /// cannot make requests (its error is then reported by the builder path on each call).
    record: Option<RequestTemplate<Statused<One<UserInteraction>>>>,
}

impl UsersService {
    /// A service over `client`.
    pub fn new(client: Client) -> Self {
        let record = record_builder(&client, &()).with_status().template().ok();
        UsersService { client, record }
    }

    /// The client this service sends with.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Records what `user_id` did with a grant, atomically, in exactly one request:
    ///
    /// ```text
    /// POST /rest/v1/user_interactions?on_conflict=user_id,grant_id&select=*
    /// Prefer: resolution=merge-duplicates, return=representation
    /// Accept: application/vnd.pgrst.object+json
    /// ```
    ///
    /// PostgREST runs it as `INSERT ... ON CONFLICT (user_id, grant_id) DO UPDATE`, so concurrent
    /// calls for one pair leave one row and the last write wins; none fails with a unique
    /// violation. Only `user_id`, `grant_id`, `action` (and `notes` when given) are sent: the
    /// row's `id` and `created_at` survive updates and `updated_at` is the database's job.
    pub async fn record_user_interaction(
        &self,
        user_id: Uuid,
        interaction: NewInteraction,
    ) -> Result<UserInteraction> {
        self.record_user_interaction_with_status(user_id, interaction)
            .await
            .map(|answer| answer.data)
    }

    /// [`UsersService::record_user_interaction`], also saying whether the call created the row
    /// (`201 Created`) or changed the existing one (`200 OK`, PostgREST 12+). Same request.
    pub async fn record_user_interaction_with_status(
        &self,
        user_id: Uuid,
        interaction: NewInteraction,
    ) -> Result<WithStatus<UserInteraction>> {
        let grant_id = interaction.grant_id;
        let action = interaction.action;
        tracing::debug!(%user_id, %grant_id, %action, "recording user interaction");
        let row = InteractionRow::new(user_id, &interaction);
        let result = match &self.record {
            Some(template) => template.send(&row).await,
            None => record_builder(&self.client, &row).with_status().await,
        };
        if let Err(err) = &result {
            log_failure(
                err,
                "record_user_interaction",
                user_id,
                Some(grant_id),
                Some(action),
            );
        }
        result
    }

    /// The request [`UsersService::record_user_interaction`] sends, as a builder: `.build()` it
    /// for a dry run or to inspect the wire form, or await it (without the service's logging).
    /// Add `.with_status()` to learn whether the call created the row (`201`) or changed an
    /// existing one (`200`, PostgREST 12+).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
    /// let users = UsersService::new(Client::new("https://xyz.supabase.co", "anon-key")?);
    /// let grant = uuid::Uuid::nil();
    /// let req = users
    ///     .record_user_interaction_builder(uuid::Uuid::max(), &NewInteraction::new(grant, InteractionAction::Saved))
    ///     .build()?;
    /// assert_eq!(req.url().query(), Some("on_conflict=user_id%2Cgrant_id&select=*"));
    /// # Ok::<(), supabase_rest::Error>(())
    /// ```
    pub fn record_user_interaction_builder(
        &self,
        user_id: Uuid,
        interaction: &NewInteraction,
    ) -> UpsertBuilder<One<UserInteraction>> {
        record_builder(&self.client, &InteractionRow::new(user_id, interaction))
    }

    /// The exact request [`UsersService::record_user_interaction`] sends, built without I/O
    /// from the service's prepared [`RequestTemplate`] (only the body is serialized per call).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
    /// let users = UsersService::new(Client::new("https://xyz.supabase.co", "anon-key")?);
    /// let new = NewInteraction::new(uuid::Uuid::nil(), InteractionAction::Applied);
    /// let req = users.record_user_interaction_request(uuid::Uuid::max(), &new)?;
    /// let same = users.record_user_interaction_builder(uuid::Uuid::max(), &new).build()?;
    /// assert_eq!(req.url(), same.url());
    /// assert_eq!(req.headers(), same.headers());
    /// assert_eq!(req.body().unwrap().as_bytes(), same.body().unwrap().as_bytes());
    /// # Ok::<(), supabase_rest::Error>(())
    /// ```
    pub fn record_user_interaction_request(
        &self,
        user_id: Uuid,
        interaction: &NewInteraction,
    ) -> Result<reqwest::Request> {
        let row = InteractionRow::new(user_id, interaction);
        match &self.record {
            Some(template) => template.build(&row),
            None => record_builder(&self.client, &row).build(),
        }
    }

    /// Records several interactions of one user in one request (one bulk upsert, all or nothing).
    /// Returns the stored rows. An empty slice sends nothing.
    ///
    /// If a grant appears more than once, the last entry wins (PostgreSQL refuses to update one
    /// row twice in a statement). Either every entry leaves notes untouched or every entry sets
    /// or clears them: a bulk body lists the union of keys, so a mixed batch would overwrite the
    /// untouched notes with NULL. A mixed batch fails with [`Error::InvalidRequest`] before
    /// anything is sent; split it in two calls.
    pub async fn record_user_interactions(
        &self,
        user_id: Uuid,
        interactions: &[NewInteraction],
    ) -> Result<Vec<UserInteraction>> {
        let with_notes = interactions.iter().filter(|i| i.notes.is_some()).count();
        if with_notes != 0 && with_notes != interactions.len() {
            return Err(Error::invalid(
                "a bulk interaction batch must either set notes on every entry or on none: a mixed batch would erase the untouched notes",
            ));
        }
        let mut rows: Vec<InteractionRow<'_>> = Vec::with_capacity(interactions.len());
        for interaction in interactions {
            let row = InteractionRow::new(user_id, interaction);
            match rows.iter_mut().find(|r| r.grant_id == row.grant_id) {
                Some(existing) => *existing = row,
                None => rows.push(row),
            }
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        tracing::debug!(%user_id, count = rows.len(), "recording user interactions in bulk");
        let result = self
            .client
            .from(TABLE)
            .upsert(&rows)
            .on_conflict(CONFLICT_TARGET)
            .select("*")
            .await;
        if let Err(err) = &result {
            log_failure(err, "record_user_interactions", user_id, None, None);
        }
        result
    }

    /// The user's interactions, most recently changed first, optionally only one action.
    pub async fn list_user_interactions(
        &self,
        user_id: Uuid,
        action: Option<InteractionAction>,
    ) -> Result<Vec<UserInteraction>> {
        let result = self
            .client
            .from(TABLE)
            .select("*")
            .eq("user_id", user_id)
            .optional(action, |b, a| b.eq("action", a))
            .order("updated_at", Order::desc())
            .returns::<UserInteraction>()
            .await;
        if let Err(err) = &result {
            log_failure(err, "list_user_interactions", user_id, None, action);
        }
        result
    }

    /// The user's interaction with one grant, if any.
    pub async fn get_user_interaction(
        &self,
        user_id: Uuid,
        grant_id: Uuid,
    ) -> Result<Option<UserInteraction>> {
        let result = self
            .client
            .from(TABLE)
            .select("*")
            .eq("user_id", user_id)
            .eq("grant_id", grant_id)
            .returns::<UserInteraction>()
            .maybe_single()
            .await;
        if let Err(err) = &result {
            log_failure(err, "get_user_interaction", user_id, Some(grant_id), None);
        }
        result
    }

    /// Removes the user's interaction with a grant. `Ok(true)` if a row was deleted, `Ok(false)`
    /// if there was none (or row-level security hid it).
    pub async fn remove_user_interaction(&self, user_id: Uuid, grant_id: Uuid) -> Result<bool> {
        #[derive(Deserialize)]
        struct Deleted {
            #[allow(dead_code)]
            id: Uuid,
        }
        let result = self
            .client
            .from(TABLE)
            .delete()
            .eq("user_id", user_id)
            .eq("grant_id", grant_id)
            .select::<Deleted>("id")
            .await;
        match result {
            Ok(rows) => Ok(!rows.is_empty()),
            Err(err) => {
                log_failure(
                    &err,
                    "remove_user_interaction",
                    user_id,
                    Some(grant_id),
                    None,
                );
                Err(err)
            }
        }
    }
}

/// The one upsert behind `record_user_interaction`, for any body.
fn record_builder<B: serde::Serialize + ?Sized>(
    client: &Client,
    body: &B,
) -> UpsertBuilder<One<UserInteraction>> {
    client
        .from(TABLE)
        .upsert(body)
        .on_conflict(CONFLICT_TARGET)
        .ignore_duplicates(false)
        .select("*")
        .single()
}

/// One error event with everything needed to diagnose a failed call, and no secrets (the
/// client's key and token are never part of an `Error`).
fn log_failure(
    err: &Error,
    operation: &'static str,
    user_id: Uuid,
    grant_id: Option<Uuid>,
    action: Option<InteractionAction>,
) {
    let pg = err.as_postgrest();
    tracing::error!(
        operation,
        %user_id,
        grant_id = grant_id.map(tracing::field::display),
        action = action.map(InteractionAction::as_str),
        status = err.status().map(|s| s.as_u16()),
        code = pg.map(|e| e.code.as_str()),
        details = pg.and_then(|e| e.details_str()).as_deref(),
        hint = pg.and_then(|e| e.hint.as_deref()),
        error = %err,
        "user interaction request failed"
    );
}
