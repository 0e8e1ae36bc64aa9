//! `UsersService`: the typed counterpart of the grants app's TypeScript `usersService`.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use serde::Deserialize;
use uuid::Uuid;

use super::schema::public::user_interaction_events as ev;
use super::schema::public::user_interactions::{self as ui, columns as c, UserInteractions};
use super::{insert_row, InteractionAction, InteractionEvent, NewInteraction, UserInteraction};
use crate::builder::op;
use crate::error::{Error, Escaped, Result};
use crate::typed::Field;
use crate::typed::Typed;
use crate::{Client, One, Order, RequestTemplate, Statused, WithStatus};

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
        // The template keeps the request's shape; this placeholder body is dropped.
        let shape = ui::Insert::new(Uuid::nil(), Uuid::nil(), String::new());
        let record = record_builder(&client, &shape)
            .with_status()
            .template()
            .ok();
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
    ///
    /// Awaiting returns the stored row. The same call also gives, without sending anything
    /// else, whether it created the row ([`RecordInteraction::with_status`]) and the exact
    /// request it sends ([`RecordInteraction::build`]):
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
    /// let users = UsersService::new(Client::new("https://xyz.supabase.co", "anon-key")?);
    /// let new = NewInteraction::new(uuid::Uuid::nil(), InteractionAction::Applied);
    /// let req = users.record_user_interaction(uuid::Uuid::max(), new).build()?;
    /// assert_eq!(req.url().query(), Some("on_conflict=user_id%2Cgrant_id&select=*"));
    /// assert_eq!(req.headers()["prefer"], "resolution=merge-duplicates, return=representation");
    /// # Ok::<(), supabase_rest::Error>(())
    /// ```
    pub fn record_user_interaction(
        &self,
        user_id: Uuid,
        interaction: NewInteraction,
    ) -> RecordInteraction<'_> {
        RecordInteraction {
            service: self,
            user_id,
            interaction,
            output: PhantomData,
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
        let mut rows: Vec<ui::Insert> = Vec::with_capacity(interactions.len());
        for interaction in interactions {
            let row = insert_row(user_id, interaction);
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
            .table(ui::TABLE)
            .upsert_many(&rows, ui::conflict::USER_ID_GRANT_ID)
            .returning()
            .returns::<UserInteraction>()
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
        let mut request = self
            .client
            .table(ui::TABLE)
            .select()
            .eq(c::USER_ID, user_id);
        if let Some(a) = action {
            request = request.eq(c::ACTION, a.as_str());
        }
        let result = request
            .order(c::UPDATED_AT, Order::desc())
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
            .table(ui::TABLE)
            .select()
            .eq(c::USER_ID, user_id)
            .eq(c::GRANT_ID, grant_id)
            .returns::<UserInteraction>()
            .maybe_single()
            .await;
        if let Err(err) = &result {
            log_failure(err, "get_user_interaction", user_id, Some(grant_id), None);
        }
        result
    }

    /// Removes the user's interaction with a grant: a soft delete, one
    /// `PATCH /rest/v1/user_interactions?user_id=eq.<u>&grant_id=eq.<g>` setting `deleted_at`
    /// (the database stamps its own time). The row stays, hidden from the user's reads, and its
    /// history keeps the removal; recording the interaction again with
    /// [`record_user_interaction`](Self::record_user_interaction) revives the same row (same
    /// `id` and `created_at`). `Ok(true)` if a live row was removed, `Ok(false)` if there was
    /// none (or row-level security hid it). Erasing an account (a hard delete) is the service
    /// role's: `client.from("user_interactions").delete()`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # use supabase_rest::grants::UsersService;
    /// // The request, as `remove_user_interaction` sends it:
    /// # let client = Client::new("https://xyz.supabase.co", "anon-key")?;
    /// let req = UsersService::new(client).remove_request(uuid::Uuid::max(), uuid::Uuid::nil())?;
    /// assert_eq!(req.method(), "PATCH");
    /// assert_eq!(
    ///     req.url().query(),
    ///     Some("user_id=eq.ffffffff-ffff-ffff-ffff-ffffffffffff&grant_id=eq.00000000-0000-0000-0000-000000000000&select=id")
    /// );
    /// # Ok::<(), supabase_rest::Error>(())
    /// ```
    pub async fn remove_user_interaction(&self, user_id: Uuid, grant_id: Uuid) -> Result<bool> {
        let result = self.remove_builder(user_id, grant_id).await;
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

    /// The exact request [`remove_user_interaction`](Self::remove_user_interaction) sends,
    /// built without I/O.
    pub fn remove_request(&self, user_id: Uuid, grant_id: Uuid) -> Result<reqwest::Request> {
        self.remove_builder(user_id, grant_id).build()
    }

    fn remove_builder(
        &self,
        user_id: Uuid,
        grant_id: Uuid,
    ) -> crate::UpdateBuilder<crate::Rows<Removed>> {
        let patch = ui::Update {
            deleted_at: Field::Value(chrono::Utc::now()),
            ..ui::Update::default()
        };
        self.client
            .table(ui::TABLE)
            .update(&patch)
            .eq(c::USER_ID, user_id)
            .eq(c::GRANT_ID, grant_id)
            .untyped()
            .select("id")
            .returns::<Removed>()
    }

    /// Every change to the user's interaction with a grant, oldest first, from the database's
    /// audit trail (`user_interaction_events`, written by a trigger in commit order): inserts,
    /// updates, removals, revivals and hard deletes, each with the old and new action and
    /// notes. Row-level security shows a user only their own events.
    pub async fn interaction_history(
        &self,
        user_id: Uuid,
        grant_id: Uuid,
    ) -> Result<Vec<InteractionEvent>> {
        let result = self
            .client
            .table(ev::TABLE)
            .select()
            .eq(ev::columns::USER_ID, user_id)
            .eq(ev::columns::GRANT_ID, grant_id)
            .order(ev::columns::SEQ, Order::asc())
            .await;
        if let Err(err) = &result {
            log_failure(err, "interaction_history", user_id, Some(grant_id), None);
        }
        result
    }
}

/// One call of [`UsersService::record_user_interaction`]. Await it for the stored row; call
/// [`with_status`](RecordInteraction::with_status) first to also learn whether the row was
/// created; or [`build`](RecordInteraction::build) the request without sending it.
#[must_use = "a recorded interaction is sent only when awaited"]
#[derive(Debug)]
pub struct RecordInteraction<'a, T = UserInteraction> {
    service: &'a UsersService,
    user_id: Uuid,
    interaction: NewInteraction,
    output: PhantomData<fn() -> T>,
}

impl<'a> RecordInteraction<'a> {
    /// Awaiting also says whether the call created the row (`201 Created`) or changed the
    /// existing one (`200 OK`, PostgREST 12+). The request is the same.
    pub fn with_status(self) -> RecordInteraction<'a, WithStatus<UserInteraction>> {
        RecordInteraction {
            service: self.service,
            user_id: self.user_id,
            interaction: self.interaction,
            output: PhantomData,
        }
    }
}

impl<T> RecordInteraction<'_, T> {
    /// The exact request this call sends, built without I/O from the service's prepared
    /// [`RequestTemplate`] (only the body is serialized per call): for a dry run, or to inspect
    /// the wire form.
    pub fn build(self) -> Result<reqwest::Request> {
        let row = insert_row(self.user_id, &self.interaction);
        match &self.service.record {
            Some(template) => template.build(&row),
            None => record_builder(&self.service.client, &row).build(),
        }
    }

    /// Sends the upsert, logging at debug before and at error on failure.
    async fn send(self) -> Result<WithStatus<UserInteraction>> {
        let RecordInteraction {
            service,
            user_id,
            interaction,
            output: _,
        } = self;
        let grant_id = interaction.grant_id;
        let action = interaction.action;
        tracing::debug!(%user_id, %grant_id, %action, "recording user interaction");
        let row = insert_row(user_id, &interaction);
        let result = match &service.record {
            Some(template) => template.send(&row).await,
            None => record_builder(&service.client, &row).with_status().await,
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
}

impl<'a> IntoFuture for RecordInteraction<'a> {
    type Output = Result<UserInteraction>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.send().await.map(|answer| answer.data) })
    }
}

impl<'a> IntoFuture for RecordInteraction<'a, WithStatus<UserInteraction>> {
    type Output = Result<WithStatus<UserInteraction>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// What a removal reads back: the id of each removed row.
#[derive(Debug, Deserialize)]
pub(crate) struct Removed {
    #[allow(dead_code)]
    id: Uuid,
}

/// The one upsert behind `record_user_interaction`, on the generated types: the conflict
/// target is the schema's `(user_id, grant_id)` key, so it cannot be misspelt.
fn record_builder(
    client: &Client,
    row: &ui::Insert,
) -> Typed<UserInteractions, op::Upsert, One<UserInteraction>> {
    client
        .table(ui::TABLE)
        .upsert(row, ui::conflict::USER_ID_GRANT_ID)
        .ignore_duplicates(false)
        .returning()
        .returns::<UserInteraction>()
        .single()
}

/// One error event with everything needed to diagnose a failed call, and no secrets (the
/// client's key and token are never part of an `Error`). PostgreSQL's `details` often quote
/// the row ("Failing row contains (...)"), so they go to a debug event of their own, never to
/// the error event; server text is written with control characters escaped.
fn log_failure(
    err: &Error,
    operation: &'static str,
    user_id: Uuid,
    grant_id: Option<Uuid>,
    action: Option<InteractionAction>,
) {
    let pg = err.as_postgrest();
    let hint = pg.and_then(|e| e.hint.as_deref()).map(Escaped);
    tracing::error!(
        operation,
        %user_id,
        grant_id = grant_id.map(tracing::field::display),
        action = action.map(InteractionAction::as_str),
        status = err.status().map(|s| s.as_u16()),
        code = pg.map(|e| e.code.as_str()),
        hint = hint.as_ref().map(tracing::field::display),
        error = %err,
        "user interaction request failed"
    );
    if let Some(details) = pg.and_then(|e| e.details_str()) {
        tracing::debug!(operation, %user_id, details = %Escaped(&details), "details of the failure");
    }
}
