//! A test-only copy of the grants app's original TypeScript flow: SELECT the row, then UPDATE it
//! or INSERT a new one. Two requests per call, and a window between them in which a concurrent
//! call can insert the same pair. Kept only to prove the tests can fail.

#![allow(unreachable_pub)]

use serde::Serialize;
use supabase_rest::grants::{InteractionAction, NewInteraction, Notes, UserInteraction};
use supabase_rest::{Client, Result};
use uuid::Uuid;

#[derive(Serialize)]
struct Insert<'a> {
    user_id: Uuid,
    grant_id: Uuid,
    action: InteractionAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a Notes>,
}

#[derive(Serialize)]
struct Patch<'a> {
    action: InteractionAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a Notes>,
}

pub async fn record_user_interaction_old(
    client: &Client,
    user_id: Uuid,
    interaction: NewInteraction,
) -> Result<UserInteraction> {
    let existing: Option<UserInteraction> = client
        .from("user_interactions")
        .select("*")
        .eq("user_id", user_id)
        .eq("grant_id", interaction.grant_id)
        .returns::<UserInteraction>()
        .maybe_single()
        .await?;
    match existing {
        Some(row) => {
            client
                .from("user_interactions")
                .update(&Patch {
                    action: interaction.action,
                    notes: interaction.notes.as_ref(),
                })
                .eq("id", row.id)
                .select("*")
                .returns::<UserInteraction>()
                .single()
                .await
        }
        None => {
            client
                .from("user_interactions")
                .insert(&Insert {
                    user_id,
                    grant_id: interaction.grant_id,
                    action: interaction.action,
                    notes: interaction.notes.as_ref(),
                })
                .select("*")
                .returns::<UserInteraction>()
                .single()
                .await
        }
    }
}
