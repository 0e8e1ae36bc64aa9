//! The grants app's HTTP API over [`UsersService`]: the routes, the caller's identity and the
//! mapping of every failure to an HTTP status with a JSON body.
//!
//! | route | does |
//! |---|---|
//! | `POST /api/grants/{id}/save` | records `saved` (also `/apply` → `applied`, `/ignore` → `ignored`) |
//! | `GET /api/users/interactions[?action=saved\|applied\|ignored]` | the caller's interactions, newest first |
//! | `DELETE /api/users/interactions/{grant_id}` | removes the caller's interaction with a grant (a soft delete: recording it again revives the same row) |
//! | `GET /api/grants/{id}/history` | every change to the caller's interaction with a grant, oldest first (the audit trail) |
//!
//! The `POST` routes take an optional JSON body `{"notes": "..."}`: no body (or no `notes` key)
//! leaves the notes untouched, `{"notes": null}` clears them. They answer `201` with the row when
//! the call created it and `200` when it updated it.
//!
//! The caller's `Authorization: Bearer <jwt>` is passed through to Supabase
//! ([`Client::with_access_token`]), so row-level security applies to every query; the user id is
//! the token's `sub` claim. The token is only decoded here, never verified: Supabase verifies it
//! on every request, and rejects a forged one.
//!
//! Errors are `{"error": {"code", "message", "details", "hint"}}`, with PostgREST's fields when
//! the failure came from it.
//!
//! This file is a module of the `grants_api` example (`examples/grants_api/main.rs`) and of the
//! integration test `tests/grants_api.rs`, which includes it with `#[path]`.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Map, Value};
use supabase_rest::grants::{InteractionAction, NewInteraction, Notes, UsersService};
use supabase_rest::{Client, Error, ErrorKind};
use uuid::Uuid;

/// The API's router. `client` is the project's client with the anon key and no user token; each
/// request runs through a clone carrying the caller's token.
pub(crate) fn router(client: Client) -> Router {
    Router::new()
        .route("/api/grants/{id}/save", post(save))
        .route("/api/grants/{id}/apply", post(apply))
        .route("/api/grants/{id}/ignore", post(ignore))
        .route("/api/users/interactions", get(list))
        .route("/api/users/interactions/{grant_id}", delete(remove))
        .route("/api/grants/{id}/history", get(history))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(AppState { client })
}

#[derive(Clone)]
struct AppState {
    client: Client,
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

async fn save(caller: Caller, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    record(caller, &id, &body, InteractionAction::Saved).await
}

async fn apply(caller: Caller, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    record(caller, &id, &body, InteractionAction::Applied).await
}

async fn ignore(caller: Caller, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    record(caller, &id, &body, InteractionAction::Ignored).await
}

async fn record(
    caller: Caller,
    grant_id: &str,
    body: &[u8],
    action: InteractionAction,
) -> Result<Response, ApiError> {
    let grant_id = parse_grant_id(grant_id)?;
    let notes = parse_notes(body)?;
    // PostgREST answers 201 when the upsert created the row and 200 when it changed it.
    let saved = caller
        .users
        .record_user_interaction(
            caller.user_id,
            NewInteraction {
                grant_id,
                action,
                notes,
            },
        )
        .with_status()
        .await?;
    Ok((saved.status, Json(saved.data)).into_response())
}

async fn list(caller: Caller, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let mut action = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "action" if !value.is_empty() => {
                action = Some(value.parse::<InteractionAction>().map_err(|e| {
                    ApiError::new(StatusCode::BAD_REQUEST, "invalid_action", e.to_string())
                })?);
            }
            "action" => {}
            other => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    format!("unknown query parameter {other:?} (expected action)"),
                ))
            }
        }
    }
    let rows = caller
        .users
        .list_user_interactions(caller.user_id, action)
        .await?;
    Ok(Json(json!({ "interactions": rows })).into_response())
}

async fn remove(caller: Caller, Path(grant_id): Path<String>) -> Result<Response, ApiError> {
    let grant_id = parse_grant_id(&grant_id)?;
    let removed = caller
        .users
        .remove_user_interaction(caller.user_id, grant_id)
        .await?;
    if removed {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no interaction with grant {grant_id}"),
        ))
    }
}

async fn history(caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let grant_id = parse_grant_id(&id)?;
    let events = caller
        .users
        .interaction_history(caller.user_id, grant_id)
        .await?;
    Ok(Json(json!({ "events": events })).into_response())
}

async fn unknown_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

fn parse_grant_id(text: &str) -> Result<Uuid, ApiError> {
    text.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant_id",
            format!("grant id {text:?} is not a UUID"),
        )
    })
}

/// The optional body of the record routes: nothing, `{}`, `{"notes": "text"}` or
/// `{"notes": null}`.
fn parse_notes(body: &[u8]) -> Result<Option<Notes>, ApiError> {
    let invalid = |message: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", message);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let mut fields: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(invalid("the body must be a JSON object".into())),
        Err(e) => return Err(invalid(format!("the body is not valid JSON: {e}"))),
    };
    let notes = match fields.remove("notes") {
        None => None,
        Some(Value::Null) => Some(Notes::Clear),
        Some(Value::String(text)) => Some(Notes::Set(text)),
        Some(_) => return Err(invalid("notes must be a string or null".into())),
    };
    if let Some(unknown) = fields.keys().next() {
        return Err(invalid(format!(
            "unknown field {unknown:?} (expected notes)"
        )));
    }
    Ok(notes)
}

// ---------------------------------------------------------------------------------------------
// The caller
// ---------------------------------------------------------------------------------------------

/// The signed-in caller: their id (the token's `sub`) and a service whose requests carry their
/// token, so row-level security applies.
struct Caller {
    user_id: Uuid,
    users: UsersService,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        let user_id = jwt_subject(token)?;
        Ok(Caller {
            user_id,
            users: UsersService::new(state.client.with_access_token(token)),
        })
    }
}

fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("missing Authorization: Bearer <token>"))?;
    let value = value
        .to_str()
        .map_err(|_| unauthorized("the Authorization header is not text"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(unauthorized(
            "the Authorization header must be Bearer <token>",
        )),
    }
}

/// The claims of a JWT, decoded but NOT verified (Supabase verifies the token on every request
/// this app makes with it).
pub(crate) fn jwt_claims(token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(claims) => Some(claims),
        _ => None,
    }
}

fn jwt_subject(token: &str) -> Result<Uuid, ApiError> {
    let claims = jwt_claims(token).ok_or_else(|| unauthorized("the bearer token is not a JWT"))?;
    claims
        .get("sub")
        .and_then(Value::as_str)
        .and_then(|sub| sub.parse().ok())
        .ok_or_else(|| unauthorized("the token has no user id (sub claim)"))
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// An error answer: `{"error": {"code", "message", "details", "hint"}}` with `status`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) details: Option<String>,
    pub(crate) hint: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            details: None,
            hint: None,
        }
    }

    pub(crate) fn body(&self) -> Value {
        json!({"error": {
            "code": self.code,
            "message": self.message,
            "details": self.details,
            "hint": self.hint,
        }})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError::from(&err)
    }
}

impl From<&Error> for ApiError {
    /// What the caller sees of a failed Supabase call: PostgREST's own fields when it answered
    /// with them, a generic message otherwise (no upstream bodies are relayed).
    fn from(err: &Error) -> Self {
        let status = status_for(err);
        match err.as_postgrest() {
            Some(pg) => ApiError {
                status,
                code: if pg.code.is_empty() {
                    fallback_code(status).to_owned()
                } else {
                    pg.code.clone()
                },
                message: pg.message.clone(),
                details: pg.details_str().map(|d| d.into_owned()),
                hint: pg.hint.clone(),
            },
            None => {
                let message = match err {
                    Error::Timeout(_) => "the database API did not answer in time".to_owned(),
                    Error::Http { status, .. } => {
                        format!("the database API answered HTTP {}", status.as_u16())
                    }
                    Error::Decode(_) => {
                        "the database API sent an answer this server could not read".to_owned()
                    }
                    Error::InvalidRequest(_) => "this server built an invalid request".to_owned(),
                    other => format!("the database API could not be reached: {other}"),
                };
                ApiError::new(status, fallback_code(status), message)
            }
        }
    }
}

fn fallback_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::CONFLICT => "conflict",
        StatusCode::BAD_GATEWAY => "bad_gateway",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::GATEWAY_TIMEOUT => "timeout",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    }
}

/// The HTTP status this API answers for a failed Supabase call.
pub(crate) fn status_for(err: &Error) -> StatusCode {
    match err.kind() {
        // PostgREST refused the token, or ran as anon without privileges.
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        // Row-level security or a missing grant for the caller's role.
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Invalid if err.is_check_violation() => StatusCode::UNPROCESSABLE_ENTITY,
        // A request this server built wrongly: our bug, not the caller's.
        ErrorKind::Invalid if matches!(err, Error::InvalidRequest(_)) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        // Invalid input that reached the database (e.g. a value of the wrong type).
        ErrorKind::Invalid if err.status() == Some(StatusCode::BAD_REQUEST) => {
            StatusCode::BAD_REQUEST
        }
        ErrorKind::NotFound if err.is_no_rows() => StatusCode::NOT_FOUND,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        // A 5xx, or a 4xx that means this server and its database disagree (unknown table or
        // column, schema not exposed): the caller can do nothing about it.
        _ => StatusCode::BAD_GATEWAY,
    }
}
