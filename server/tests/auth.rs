//! Nobody gets in who should not: sign-in, sessions, roles, ownership, tokens, cross-site
//! requests, rate limits and request limits.

mod support;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use axum::response::Response;

use app::auth::{store, Role, Scope};
use support::{json, multipart, test_app, test_app_with, test_data, TestApp};

const ORIGIN: &str = "http://tinct.test";

async fn body_text(response: Response) -> String {
    String::from_utf8_lossy(&to_bytes(response.into_body(), 10 << 20).await.unwrap()).into_owned()
}

/// A request with no credentials at all, from a browser.
async fn anonymous(app: &TestApp, method: &str, uri: &str) -> Response {
    anonymous_accepting(
        app,
        method,
        uri,
        "text/html,application/xhtml+xml,*/*;q=0.8",
    )
    .await
}

/// The same from a program that wants JSON.
async fn anonymous_accepting(app: &TestApp, method: &str, uri: &str, accept: &str) -> Response {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "tinct.test")
        .header(header::ORIGIN, ORIGIN)
        .header(header::ACCEPT, accept)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::empty())
        .unwrap();
    app.send_as_is(request).await
}

async fn user_with_token(app: &TestApp, name: &str, role: Role, scopes: &[Scope]) -> String {
    let id = store::add_user(&app.db, name, role, "a-long-password")
        .await
        .unwrap();
    store::create_token(&app.db, id, "test", scopes, None)
        .await
        .unwrap()
        .0
}

fn with_token(mut request: Request<Body>, token: &str) -> Request<Body> {
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    request
}

fn png() -> Vec<u8> {
    std::fs::read(test_data("reference_input.png")).unwrap()
}

fn submission(fields: &[(&str, &str, &[u8])]) -> Request<Body> {
    let (content_type, body) = multipart(fields);
    Request::post("/api/v1/jobs")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn every_route_but_sign_in_static_and_health_needs_credentials() {
    let app = test_app(0, 100).await;
    let id = "0193c3a8-0000-7000-8000-000000000001";
    for page in [
        "/",
        "/upload",
        "/gallery",
        &format!("/gallery/{id}"),
        "/history",
        "/admin",
        "/account",
    ] {
        let response = anonymous(&app, "GET", page).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{page}");
        let location = response.headers()[header::LOCATION].to_str().unwrap();
        assert!(
            location.starts_with("/login?next=%2F") || location.starts_with("/login?next=/"),
            "{page}: {location}"
        );
    }
    let api = [
        ("GET", "/api/v1/jobs".to_string()),
        ("POST", "/api/v1/jobs".to_string()),
        ("GET", format!("/api/v1/jobs/{id}")),
        ("DELETE", format!("/api/v1/jobs/{id}")),
        ("POST", format!("/api/v1/jobs/{id}/retry")),
        ("GET", format!("/api/v1/jobs/{id}/result")),
        ("GET", format!("/api/v1/jobs/{id}/original")),
        ("GET", format!("/api/v1/jobs/{id}/thumbnail")),
        ("GET", format!("/api/v1/jobs/{id}/preview/original")),
        ("GET", format!("/api/v1/jobs/zip?id={id}")),
        ("GET", "/api/v1/events".to_string()),
        ("GET", format!("/api/v1/jobs/{id}/versions")),
        ("POST", format!("/api/v1/jobs/{id}/versions")),
        ("POST", format!("/api/v1/jobs/{id}/review")),
        ("POST", format!("/api/v1/jobs/{id}/choose")),
        (
            "GET",
            format!("/api/v1/jobs/{id}/correction-preview?c=%7B%7D"),
        ),
        ("POST", "/api/v1/reviews".to_string()),
        ("POST", "/api/list_jobs".to_string()),
        ("POST", "/api/photo_versions".to_string()),
        ("POST", "/api/choose_version".to_string()),
        ("POST", "/api/review_photo".to_string()),
        ("POST", "/api/apply_correction".to_string()),
        ("POST", "/api/list_results".to_string()),
        ("POST", "/api/job_detail".to_string()),
        ("POST", "/api/system_status".to_string()),
        ("POST", "/api/engine_status".to_string()),
        ("POST", "/api/list_users".to_string()),
        ("POST", "/api/add_user".to_string()),
        ("POST", "/api/create_token".to_string()),
        ("POST", "/api/delete_job".to_string()),
        ("POST", "/api/rerun_job".to_string()),
        ("POST", "/prompt".to_string()),
        ("GET", "/prompt".to_string()),
        ("POST", "/upload/image".to_string()),
        ("GET", "/view?filename=a.png&type=input".to_string()),
        ("GET", format!("/history/{id}")),
        ("GET", "/api/history".to_string()),
        ("GET", "/queue".to_string()),
        ("POST", "/interrupt".to_string()),
        ("GET", "/system_stats".to_string()),
        ("GET", "/object_info".to_string()),
        ("GET", "/ws?clientId=x".to_string()),
    ];
    for (method, uri) in api {
        let response = anonymous_accepting(&app, method, &uri, "application/json").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {uri}"
        );
    }
    for public in ["/login", "/healthz"] {
        assert_eq!(
            anonymous(&app, "GET", public).await.status(),
            StatusCode::OK,
            "{public}"
        );
    }
    let response = anonymous(&app, "POST", "/api/current_user").await;
    assert_eq!(body_text(response).await, "null");
}

#[tokio::test]
async fn a_session_signs_in_is_renewed_at_each_sign_in_and_ends_everywhere_at_sign_out() {
    let app = test_app(0, 100).await;
    store::add_user(&app.db, "ana", Role::Staff, "ana-password-1")
        .await
        .unwrap();
    let (status, body) = app.sign_in("ana", "wrong-password").await.unwrap_err();
    assert!(!status.is_success());
    assert!(body.contains("Wrong name or password"), "{body}");
    let (_, body) = app.sign_in("nobody", "ana-password-1").await.unwrap_err();
    assert!(body.contains("Wrong name or password"), "{body}");

    let cookie = app.sign_in("ana", "ana-password-1").await.unwrap();
    assert!(cookie.starts_with("tinct_session="));
    let page = |cookie: &str| {
        Request::get("/history")
            .header(header::COOKIE, cookie)
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .unwrap()
    };
    let response = app.send(page(&cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval' 'nonce-"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let html = body_text(response).await;
    assert!(
        html.contains("ana (staff)"),
        "the header names who is signed in"
    );

    // The session is kept in the database; signing out removes it there.
    let table = match app::db::Backend::of(&app.db) {
        app::db::Backend::Sqlite => "tower_sessions",
        app::db::Backend::Postgres => "tower_sessions.session",
    };
    let sessions = || async {
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    assert_eq!(sessions().await, 1);
    let logout = Request::post("/api/logout")
        .header(header::COOKIE, &cookie)
        .header(header::HOST, "tinct.test")
        .header(header::ORIGIN, ORIGIN)
        .body(Body::empty())
        .unwrap();
    let response = app.send(logout).await;
    let status = response.status();
    assert!(
        status.is_success() || status.is_redirection(),
        "{status} {}",
        body_text(response).await
    );
    assert_eq!(sessions().await, 0);
    assert_eq!(
        app.send(page(&cookie)).await.status(),
        StatusCode::SEE_OTHER
    );

    // Signing in again with a session cookie gives a new session id; the old one is void.
    let first = app.sign_in("ana", "ana-password-1").await.unwrap();
    let request = Request::post("/api/login")
        .header(header::COOKIE, &first)
        .header(header::HOST, "tinct.test")
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("name=ana&password=ana-password-1"))
        .unwrap();
    let response = app.send_as_is(request).await;
    let second = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(first, second);
    assert_eq!(app.send(page(&first)).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.send(page(&second)).await.status(), StatusCode::OK);

    // A disabled account's session stops working at once.
    let cookie = second;
    sqlx::query("UPDATE users SET disabled = 1 WHERE name = 'ana'")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(
        app.send(page(&cookie)).await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(app.sign_in("ana", "ana-password-1").await.is_err());
}

#[tokio::test]
async fn a_request_from_another_site_cannot_use_the_session() {
    let app = test_app(0, 100).await;
    store::add_user(&app.db, "ana", Role::Staff, "ana-password-1")
        .await
        .unwrap();
    let cookie = app.sign_in("ana", "ana-password-1").await.unwrap();
    let png = png();
    for origin in [Some("http://evil.example"), None] {
        let mut request = submission(&[("images", "a.png", &png)]);
        request
            .headers_mut()
            .insert(header::COOKIE, cookie.parse().unwrap());
        request
            .headers_mut()
            .insert(header::HOST, "tinct.test".parse().unwrap());
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert(header::ORIGIN, origin.parse().unwrap());
        }
        let response = app.send(request).await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "origin {origin:?}"
        );
        assert!(body_text(response)
            .await
            .contains("did not come from Tinct's own pages"));
    }
    let mut request = submission(&[("size", "", b"64"), ("images", "a.png", &png)]);
    request
        .headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    request
        .headers_mut()
        .insert(header::HOST, "tinct.test".parse().unwrap());
    request
        .headers_mut()
        .insert(header::ORIGIN, ORIGIN.parse().unwrap());
    let (status, body) = json(app.send(request).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE submitted_by = 'ana'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(jobs, 1, "only the same-origin submission was accepted");
}

#[tokio::test]
async fn roles_and_ownership_decide_what_each_may_see_and_do() {
    let app = test_app(0, 100).await;
    let png = png();
    let viewer = user_with_token(&app, "vera", Role::Viewer, &[Scope::Submit, Scope::Read]).await;
    let staff_a = user_with_token(&app, "ana", Role::Staff, &[Scope::Submit, Scope::Read]).await;
    let staff_b = user_with_token(&app, "ben", Role::Staff, &[Scope::Submit, Scope::Read]).await;

    // A viewer cannot submit.
    let response = app
        .send(with_token(
            submission(&[("images", "a.png", &png)]),
            &viewer,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Ben's private job is invisible to Ana and Vera; his shared one is visible to both.
    let submit = |private: &'static [u8]| {
        with_token(
            submission(&[
                ("private", "", private),
                ("size", "", b"64"),
                ("images", "b.png", &png),
            ]),
            &staff_b,
        )
    };
    let (_, body) = json(app.send(submit(b"true")).await).await;
    let private = body["files"][0]["job_id"].as_str().unwrap().to_string();
    let (_, body) = json(app.send(submit(b"false")).await).await;
    let shared = body["files"][0]["job_id"].as_str().unwrap().to_string();

    for token in [&staff_a, &viewer] {
        for uri in [
            format!("/api/v1/jobs/{private}"),
            format!("/api/v1/jobs/{private}/original"),
            format!("/api/v1/jobs/{private}/thumbnail"),
            format!("/api/v1/jobs/{private}/preview/original"),
        ] {
            let response = app
                .send(with_token(
                    Request::get(&uri).body(Body::empty()).unwrap(),
                    token,
                ))
                .await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
        }
        let (_, list) = json(
            app.send(with_token(
                Request::get("/api/v1/jobs").body(Body::empty()).unwrap(),
                token,
            ))
            .await,
        )
        .await;
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![shared.as_str()]);
        let response = app
            .send(with_token(
                Request::get(format!("/api/v1/jobs/{shared}/original"))
                    .body(Body::empty())
                    .unwrap(),
                token,
            ))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff"
        );
        assert!(response.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment;"));
    }
    // The owner and the admin see it.
    for token in [&staff_b, &app.token] {
        let response = app
            .send(with_token(
                Request::get(format!("/api/v1/jobs/{private}"))
                    .body(Body::empty())
                    .unwrap(),
                token,
            ))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    // Deleting: a viewer may not; Ana may not touch Ben's private job (it does not exist for
    // her) but may manage his shared one.
    let delete = |id: &str, token: &str| {
        with_token(
            Request::post("/api/delete_job")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("id={id}")))
                .unwrap(),
            token,
        )
    };
    let text = body_text(app.send(delete(&shared, &viewer)).await).await;
    assert!(text.contains("your role does not allow this"), "{text}");
    let text = body_text(app.send(delete(&private, &staff_a)).await).await;
    assert!(text.contains("no such job"), "{text}");
    let cancel = with_token(
        Request::delete(format!("/api/v1/jobs/{private}"))
            .body(Body::empty())
            .unwrap(),
        &staff_a,
    );
    assert_eq!(app.send(cancel).await.status(), StatusCode::NOT_FOUND);
    let response = app.send(delete(&shared, &staff_a)).await;
    assert_eq!(response.status(), StatusCode::OK);

    // Only admins manage users.
    let list_users = |token: &str| {
        with_token(
            Request::post("/api/list_users")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::empty())
                .unwrap(),
            token,
        )
    };
    let text = body_text(app.send(list_users(&staff_a)).await).await;
    assert!(text.contains("your role does not allow this"), "{text}");
    let text = body_text(app.send(list_users(&app.token)).await).await;
    assert!(
        text.contains("\"ana\"") && text.contains("\"vera\""),
        "{text}"
    );
}

#[tokio::test]
async fn revoked_expired_and_narrow_tokens_are_refused() {
    let app = test_app(0, 100).await;
    let id = store::add_user(&app.db, "ana", Role::Staff, "ana-password-1")
        .await
        .unwrap();
    let list = || Request::get("/api/v1/jobs").body(Body::empty()).unwrap();

    let (token, row) = store::create_token(&app.db, id, "cron", &[Scope::Read], Some(30))
        .await
        .unwrap();
    assert!(token.starts_with("tinct_") && token.len() > 60);
    assert_eq!(
        app.send(with_token(list(), &token)).await.status(),
        StatusCode::OK
    );
    let used: Option<String> =
        sqlx::query_scalar("SELECT last_used_at FROM api_tokens WHERE id = $1")
            .bind(&row.id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(used.is_some(), "last use is recorded");
    // Only the hash is stored.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE token_sha256 = $1")
        .bind(&token)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 0);

    // A read-only token cannot submit.
    let png = png();
    let response = app
        .send(with_token(submission(&[("images", "a.png", &png)]), &token))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    assert!(store::revoke_token(&app.db, id, &row.id).await.unwrap());
    let response = app.send(with_token(list(), &token)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");

    let (token, row) = store::create_token(&app.db, id, "old", &[Scope::Read], Some(1))
        .await
        .unwrap();
    sqlx::query("UPDATE api_tokens SET expires_at = '2020-01-01T00:00:00.000Z' WHERE id = $1")
        .bind(&row.id)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(
        app.send(with_token(list(), &token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.send(with_token(list(), "tinct_made_up")).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Tokens also work for the event stream as `?token=`, where browsers cannot set headers.
    let (token, _) = store::create_token(&app.db, id, "events", &[Scope::Read], None)
        .await
        .unwrap();
    let response = app
        .send_as_is(
            Request::get(format!("/api/v1/events?token={token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn sign_in_attempts_are_limited_with_a_clear_wait() {
    // The test app allows 5 attempts a minute per address and per account.
    let app = test_app(0, 100).await;
    store::add_user(&app.db, "ana", Role::Staff, "ana-password-1")
        .await
        .unwrap();
    for _ in 0..5 {
        let (status, _) = app.sign_in("ana", "guess-guess").await.unwrap_err();
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
    }
    // Even the right password waits now.
    let request = Request::post("/api/login")
        .header(header::HOST, "tinct.test")
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("name=ana&password=ana-password-1"))
        .unwrap();
    let response = app.send_as_is(request).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&wait), "{wait}");
    let text = body_text(response).await;
    assert!(text.contains("Too many sign-in attempts; wait"), "{text}");
}

#[tokio::test]
async fn an_upload_larger_than_the_limit_is_refused_before_it_is_read() {
    let app = test_app(0, 100).await;
    // Declares 1 GB but sends almost nothing: the limit is applied to the declared length.
    let request = Request::post("/api/v1/jobs")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
        .header(header::CONTENT_LENGTH, 1u64 << 30)
        .body(Body::from("--x\r\n"))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn submissions_beyond_the_rate_limit_get_429_with_retry_after() {
    let app = test_app_with(0, 100, |config| config.limits.submissions_per_minute = 2).await;
    let png = png();
    for _ in 0..2 {
        let request = submission(&[("size", "", b"64"), ("images", "a.png", &png)]);
        assert_eq!(app.send(request).await.status(), StatusCode::OK);
    }
    let response = app.send(submission(&[("images", "a.png", &png)])).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    assert!(body_text(response).await.contains("too many submissions"));
    // Another person is not held up by it.
    let other = user_with_token(&app, "ana", Role::Staff, &[Scope::Submit]).await;
    let request = with_token(
        submission(&[("size", "", b"64"), ("images", "a.png", &png)]),
        &other,
    );
    assert_eq!(app.send(request).await.status(), StatusCode::OK);
}
