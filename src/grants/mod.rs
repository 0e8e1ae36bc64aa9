//! The grants app's data layer: typed rows for `supabase/migrations/` and [`UsersService`],
//! whose [`UsersService::record_user_interaction`] is the atomic upsert that replaced the racy
//! select-then-insert.

pub mod schema;
mod service;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

pub use service::{RecordInteraction, UsersService};

/// One change to an interaction, from the audit trail (`user_interaction_events`): its
/// `operation` (`insert`, `update`, `soft_delete`, `revive`, `delete`), the old and new action
/// and notes, who made it (`changed_by`, null for the service role) and its commit-ordered
/// `seq`. See [`UsersService::interaction_history`].
pub type InteractionEvent = schema::public::user_interaction_events::Row;

use crate::filter::FilterValue;

/// What a user did with a grant, stored as `saved`, `applied` or `ignored`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InteractionAction {
    /// Bookmarked for later.
    Saved,
    /// Applied for.
    Applied,
    /// Hidden from the user's lists.
    Ignored,
}

impl InteractionAction {
    /// Every action, in declaration order.
    pub const ALL: [InteractionAction; 3] = [
        InteractionAction::Saved,
        InteractionAction::Applied,
        InteractionAction::Ignored,
    ];

    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            InteractionAction::Saved => "saved",
            InteractionAction::Applied => "applied",
            InteractionAction::Ignored => "ignored",
        }
    }
}

impl fmt::Display for InteractionAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of `saved`, `applied`, `ignored`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown interaction action {0:?} (expected saved, applied or ignored)")]
pub struct UnknownAction(pub String);

impl FromStr for InteractionAction {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InteractionAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAction(s.to_owned()))
    }
}

impl FilterValue for InteractionAction {
    fn write_value(&self, out: &mut String) {
        out.push_str(self.as_str());
    }
}

/// A row of `public.grants`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    /// Primary key.
    pub id: Uuid,
    /// Title shown to users.
    pub title: String,
    /// Who funds it.
    pub funder: Option<String>,
    /// Amount offered (PostgreSQL `numeric`, read as `f64`).
    pub amount: Option<f64>,
    /// Application deadline.
    pub deadline: Option<NaiveDate>,
    /// `open`, `closed`, ...
    pub status: String,
    /// When the row was created.
    pub created_at: DateTime<Utc>,
}

/// A row of `public.user_interactions`: one per `(user_id, grant_id)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInteraction {
    /// Primary key, set by the database.
    pub id: Uuid,
    /// The user (`auth.users.id`).
    pub user_id: Uuid,
    /// The grant.
    pub grant_id: Uuid,
    /// The latest action.
    pub action: InteractionAction,
    /// Free-text notes.
    pub notes: Option<String>,
    /// When the user first interacted with the grant; never changed by later upserts.
    pub created_at: DateTime<Utc>,
    /// When the row last changed (set by the database trigger).
    pub updated_at: DateTime<Utc>,
}

/// A change to an interaction's notes.
///
/// Leaving `NewInteraction::notes` as `None` keeps whatever notes the row has; `Some(Notes::Clear)`
/// is the explicit way to erase them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notes {
    /// Replace the notes with this text.
    Set(String),
    /// Erase the notes (write NULL).
    Clear,
}

impl Serialize for Notes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Notes::Set(text) => serializer.serialize_str(text),
            Notes::Clear => serializer.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for Notes {
    /// A string sets the notes; `null` clears them.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<String>::deserialize(deserializer)? {
            Some(text) => Notes::Set(text),
            None => Notes::Clear,
        })
    }
}

/// Reads an optional notes change from a request body, telling the three cases apart: an absent
/// key is `None` (leave the notes alone), `null` is `Some(Notes::Clear)`, a string is
/// `Some(Notes::Set(..))`. Use it with `#[serde(default, deserialize_with = ...)]`:
///
/// ```
/// use supabase_rest::grants::Notes;
///
/// #[derive(serde::Deserialize)]
/// struct Body {
///     #[serde(default, deserialize_with = "supabase_rest::grants::notes_change")]
///     notes: Option<Notes>,
/// }
/// let parse = |s: &str| serde_json::from_str::<Body>(s).unwrap().notes;
/// assert_eq!(parse("{}"), None);
/// assert_eq!(parse(r#"{"notes": null}"#), Some(Notes::Clear));
/// assert_eq!(parse(r#"{"notes": "hi"}"#), Some(Notes::Set("hi".into())));
/// ```
pub fn notes_change<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Notes>, D::Error> {
    Notes::deserialize(deserializer).map(Some)
}

impl From<String> for Notes {
    fn from(text: String) -> Self {
        Notes::Set(text)
    }
}

impl From<&str> for Notes {
    fn from(text: &str) -> Self {
        Notes::Set(text.to_owned())
    }
}

/// What a user did with a grant, as the app's routes receive it.
///
/// ```
/// use supabase_rest::grants::{InteractionAction, NewInteraction, Notes};
/// # let grant_id = uuid::Uuid::nil();
/// // Keeps existing notes:
/// let save = NewInteraction { grant_id, action: InteractionAction::Saved, notes: None };
/// // Sets them:
/// let apply = NewInteraction::new(grant_id, InteractionAction::Applied).with_notes("sent on Monday");
/// // Erases them:
/// let ignore = NewInteraction::new(grant_id, InteractionAction::Ignored).clearing_notes();
/// assert_eq!(ignore.notes, Some(Notes::Clear));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInteraction {
    /// The grant.
    pub grant_id: Uuid,
    /// The action to record.
    pub action: InteractionAction,
    /// `None` leaves existing notes untouched (the key is not sent); `Some(Notes::Set(..))`
    /// replaces them; `Some(Notes::Clear)` erases them.
    pub notes: Option<Notes>,
}

impl NewInteraction {
    /// An interaction that leaves notes untouched.
    pub fn new(grant_id: Uuid, action: InteractionAction) -> Self {
        NewInteraction {
            grant_id,
            action,
            notes: None,
        }
    }

    /// Sets the notes to `text`.
    pub fn with_notes(mut self, text: impl Into<String>) -> Self {
        self.notes = Some(Notes::Set(text.into()));
        self
    }

    /// Erases the notes.
    pub fn clearing_notes(mut self) -> Self {
        self.notes = Some(Notes::Clear);
        self
    }
}

/// The body of one upsert row, as the generated `Insert` of `user_interactions`: only the
/// columns the call means to set. Never `id` or `created_at` (so the first creation time
/// survives), and `notes` only when asked.
fn insert_row(
    user_id: Uuid,
    interaction: &NewInteraction,
) -> schema::public::user_interactions::Insert {
    use crate::typed::Field;
    let mut row = schema::public::user_interactions::Insert::new(
        user_id,
        interaction.grant_id,
        interaction.action.as_str().to_owned(),
    );
    row.notes = match &interaction.notes {
        None => Field::Unset,
        Some(Notes::Set(text)) => Field::Value(text.clone()),
        Some(Notes::Clear) => Field::Null,
    };
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_as_database_text() {
        for a in InteractionAction::ALL {
            assert_eq!(a.as_str().parse::<InteractionAction>().unwrap(), a);
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
        }
        assert!("Saved".parse::<InteractionAction>().is_err());
    }

    #[test]
    fn row_body_omits_untouched_notes_and_never_sends_id_or_created_at() {
        let grant_id = Uuid::nil();
        let user_id = Uuid::max();
        let keep = NewInteraction::new(grant_id, InteractionAction::Saved);
        let set = keep.clone().with_notes("hi");
        let clear = keep.clone().clearing_notes();
        let body = |i: &NewInteraction| serde_json::to_string(&insert_row(user_id, i)).unwrap();
        assert_eq!(
            body(&keep),
            format!(r#"{{"user_id":"{user_id}","grant_id":"{grant_id}","action":"saved"}}"#)
        );
        assert!(body(&set).ends_with(r#""action":"saved","notes":"hi"}"#));
        assert!(body(&clear).ends_with(r#""action":"saved","notes":null}"#));
        for b in [body(&keep), body(&set), body(&clear)] {
            assert!(!b.contains("\"id\"") && !b.contains("created_at"));
        }
    }
}
