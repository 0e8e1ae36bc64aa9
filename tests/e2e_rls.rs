//! Row-level security end to end: a user can never write or read another user's interactions.
//! Needs the database provisioned by `./scripts/test-all.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod postgrest_standin;

use std::time::Duration;

use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
use supabase_rest::Client;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_cannot_record_read_or_remove_another_users_interactions() {
    let standin = postgrest_standin::start(Duration::ZERO).await;
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    postgrest_standin::create_users(&[alice, bob]).await;
    let grants = postgrest_standin::create_grants(2).await;
    let client = Client::new(standin.url(), "anon-key").unwrap();
    let as_alice = UsersService::new(client.with_access_token(postgrest_standin::user_jwt(alice)));
    let as_bob = UsersService::new(client.with_access_token(postgrest_standin::user_jwt(bob)));

    let bobs = as_bob
        .record_user_interaction(
            bob,
            NewInteraction::new(grants[0], InteractionAction::Saved).with_notes("bob's"),
        )
        .await
        .unwrap();
    as_alice
        .record_user_interaction(
            alice,
            NewInteraction::new(grants[1], InteractionAction::Applied),
        )
        .await
        .unwrap();

    // Alice writing a row for Bob: rejected by the INSERT policy's check.
    let err = as_alice
        .record_user_interaction(
            bob,
            NewInteraction::new(grants[1], InteractionAction::Ignored),
        )
        .await
        .unwrap_err();
    assert!(err.is_rls_violation(), "{err:?}");
    assert_eq!(err.status().unwrap().as_u16(), 403);
    assert_eq!(err.code(), Some("42501"));

    // Alice upserting onto Bob's existing pair: rejected too, Bob's row untouched.
    let err = as_alice
        .record_user_interaction(
            bob,
            NewInteraction::new(grants[0], InteractionAction::Ignored).clearing_notes(),
        )
        .await
        .unwrap_err();
    assert!(err.is_rls_violation(), "{err:?}");
    let still = as_bob
        .get_user_interaction(bob, grants[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (still.action, still.notes.as_deref()),
        (InteractionAction::Saved, Some("bob's"))
    );
    assert_eq!(still.updated_at, bobs.updated_at);

    // Alice sees only her rows, and cannot see or remove Bob's.
    let mine = as_alice.list_user_interactions(alice, None).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert!(mine.iter().all(|r| r.user_id == alice));
    assert!(as_alice
        .list_user_interactions(bob, None)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        as_alice.get_user_interaction(bob, grants[0]).await.unwrap(),
        None
    );
    assert!(!as_alice
        .remove_user_interaction(bob, grants[0])
        .await
        .unwrap());
    assert!(as_bob
        .get_user_interaction(bob, grants[0])
        .await
        .unwrap()
        .is_some());

    // Anonymous requests cannot write at all (no grant for anon).
    let anon = UsersService::new(client.clone());
    let err = anon
        .record_user_interaction(
            bob,
            NewInteraction::new(grants[0], InteractionAction::Saved),
        )
        .await
        .unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    assert_eq!(err.status().unwrap().as_u16(), 401);

    // The owner can remove their row.
    assert!(as_bob
        .remove_user_interaction(bob, grants[0])
        .await
        .unwrap());
    assert_eq!(
        as_bob.get_user_interaction(bob, grants[0]).await.unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_in_refuses_what_it_does_not_implement() {
    let standin = postgrest_standin::start(Duration::ZERO).await;
    let client = Client::new(standin.url(), "anon-key").unwrap();
    let err = client
        .from("grants")
        .select("*")
        .like("title", "*x*")
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 501, "{err:?}");
    let err = client.from("unknown").select("*").await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 501);
}
