//! The holes a security review found, each closed at the one front door for jobs, and the limits
//! that apply whichever way a job comes in (pages, REST, ComfyUI).

mod support;

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use app::auth::{store, Role, Scope};
use support::{
    json as read_json, multipart, serve, serve_with, test_app, test_app_with, test_data, TestApp,
};

const HOST: &str = "tinct.test";
const ORIGIN: &str = "http://tinct.test";

fn png() -> Vec<u8> {
    std::fs::read(test_data("reference_input.png")).unwrap()
}

/// A grey JPEG made here, `width` × `height`.
fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image =
        image::DynamicImage::ImageLuma8(image::ImageBuffer::from_fn(width, height, |x, y| {
            image::Luma([((x * 7 + y * 3) % 256) as u8])
        }));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

async fn text(response: Response) -> String {
    String::from_utf8_lossy(&to_bytes(response.into_body(), 20 << 20).await.unwrap()).into_owned()
}

/// Signs in with the page's form; answers the response.
async fn sign_in_form(app: &TestApp, name: &str, password: &str, next: &str) -> Response {
    let request = Request::post("/api/login")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "name={name}&password={password}&next={next}"
        )))
        .unwrap();
    app.send_as_is(request).await
}

async fn cookie_of(app: &TestApp, name: &str, password: &str) -> String {
    app.sign_in(name, password).await.expect("signing in works")
}

/// What a session cookie may read: the job list answers 200 or 401.
async fn session_works(app: &TestApp, cookie: &str) -> bool {
    let request = Request::get("/api/v1/jobs")
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    let status = app.send_as_is(request).await.status();
    assert!(
        matches!(status, StatusCode::OK | StatusCode::UNAUTHORIZED),
        "{status}"
    );
    status == StatusCode::OK
}

async fn token_works(app: &TestApp, token: &str) -> bool {
    let request = Request::get("/api/v1/jobs")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.send_as_is(request).await.status() == StatusCode::OK
}

async fn user(app: &TestApp, name: &str, role: Role) -> (i64, String) {
    let id = store::add_user(&app.db, name, role, "a-long-password")
        .await
        .unwrap();
    let token = store::create_token(&app.db, id, "t", &Scope::ALL, None)
        .await
        .unwrap()
        .0;
    (id, token)
}

async fn submit_as(
    app: &TestApp,
    token: &str,
    fields: &[(&str, &str, &[u8])],
) -> (StatusCode, Value) {
    let (content_type, body) = multipart(fields);
    let request = Request::post("/api/v1/jobs")
        .header(header::CONTENT_TYPE, content_type)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body))
        .unwrap();
    read_json(app.send_as_is(request).await).await
}

async fn comfy_upload(app: &TestApp, token: &str, name: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let (content_type, body) = multipart(&[("image", name, bytes)]);
    let request = Request::post("/upload/image")
        .header(header::CONTENT_TYPE, content_type)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body))
        .unwrap();
    read_json(app.send_as_is(request).await).await
}

fn colorize_graph(image: &str, outputs: usize) -> Value {
    let mut graph = json!({
        "1": { "class_type": "LoadImage", "inputs": { "image": image } },
        "2": { "class_type": "DDColor_Colorize", "inputs": { "image": ["1", 0], "model_input_size": 64, "checkpoint": "ddcolor_paper_tiny.pth" } },
    });
    for n in 0..outputs {
        graph[format!("{}", 10 + n)] = json!({ "class_type": "SaveImage", "inputs": { "images": ["2", 0], "filename_prefix": "t" } });
    }
    graph
}

async fn post_prompt(app: &TestApp, content_type: &str, body: String) -> (StatusCode, Value) {
    let request = Request::post("/prompt")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    read_json(app.send(request).await).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db).await.unwrap()
}

async fn view_input(app: &TestApp, token: &str) -> (StatusCode, Vec<u8>) {
    let request = Request::get("/view?filename=scan.png&type=input")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.send_as_is(request).await;
    (
        response.status(),
        to_bytes(response.into_body(), 10 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
}

async fn wait_until_done(app: &TestApp, id: &str) {
    for _ in 0..300 {
        let (_, job) = app.get_json(&format!("/api/v1/jobs/{id}")).await;
        if job["status"] == "done" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} was not done in 30 s");
}

// 1.
#[tokio::test]
async fn a_deleted_users_cookie_never_becomes_the_session_of_the_next_user() {
    let app = test_app(0, 100).await;
    let (staff, _) = user(&app, "staff1", Role::Staff).await;
    let cookie = cookie_of(&app, "staff1", "a-long-password").await;
    assert!(session_works(&app, &cookie).await);
    store::delete_user(&app.db, staff).await.unwrap();
    assert!(!session_works(&app, &cookie).await);
    // The next account (an admin) gets a new id: the old cookie is worth nothing.
    let admin2 = store::add_user(&app.db, "admin2", Role::Admin, "a-long-password")
        .await
        .unwrap();
    assert!(
        admin2 > staff,
        "user ids are never reused ({admin2} after {staff})"
    );
    assert!(!session_works(&app, &cookie).await);
    // An insert that would reuse an id is refused by the database itself.
    let reuse = sqlx::query(
        "INSERT INTO users (id, name, password_hash, role) VALUES ($1, 'x', 'x', 'admin')",
    )
    .bind(staff)
    .execute(&app.db)
    .await;
    assert!(reuse.is_err());
}

// 2.
#[tokio::test]
async fn a_password_reset_ends_every_other_session_and_token_of_that_user() {
    let app = test_app(0, 100).await;
    let (id, token) = user(&app, "staff2", Role::Staff).await;
    let old = cookie_of(&app, "staff2", "a-long-password").await;
    let mine = cookie_of(&app, "staff2", "a-long-password").await;
    assert!(session_works(&app, &old).await && token_works(&app, &token).await);

    // The person changes it themselves, from the session `mine`.
    let request = Request::post("/api/change_password")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::COOKIE, &mine)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(
            "current=a-long-password&new_password=another-long-one",
        ))
        .unwrap();
    let response = app.send_as_is(request).await;
    assert!(
        response.status().is_success() || response.status().is_redirection(),
        "{}",
        response.status()
    );
    assert!(
        session_works(&app, &mine).await,
        "the session making the change goes on"
    );
    assert!(!session_works(&app, &old).await, "every other session ends");
    assert!(!token_works(&app, &token).await, "every token ends");

    // An admin's reset ends all of them, this session too.
    let token2 = store::create_token(&app.db, id, "t2", &Scope::ALL, None)
        .await
        .unwrap()
        .0;
    store::set_password(&app.db, id, "reset-by-admin-1", None)
        .await
        .unwrap();
    assert!(!session_works(&app, &mine).await);
    assert!(!token_works(&app, &token2).await);
    // A token making the change (its own) may be kept.
    let (row_token, row) = store::create_token(&app.db, id, "t3", &Scope::ALL, None)
        .await
        .unwrap();
    store::set_password(&app.db, id, "reset-again-12", Some(&row.id))
        .await
        .unwrap();
    assert!(token_works(&app, &row_token).await);
}

// 3. and 14.
#[tokio::test]
async fn sign_in_goes_only_to_this_site_and_a_wrong_password_is_401() {
    let app = test_app_with(0, 100, |c| c.limits.login_attempts_per_minute = 100).await;
    for (next, expected) in [
        ("/gallery", "/gallery"),
        ("%2F%09%2Fevil.example", "/"),
        ("%2F%0A%2Fevil.example", "/"),
        ("%2F%2Fevil.example", "/"),
        ("https%3A%2F%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
        ("%2Fcaf%C3%A9", "/"),
    ] {
        let response = sign_in_form(&app, "admin", "admin-password-1", next).await;
        assert!(
            response.status().is_success() || response.status().is_redirection(),
            "{next}: {}",
            response.status()
        );
        let location = response
            .headers()
            .get(header::LOCATION)
            .unwrap_or_else(|| panic!("{next}: no Location"))
            .to_str()
            .unwrap();
        assert_eq!(location, expected, "next={next}");
    }
    let response = sign_in_form(&app, "admin", "wrong-password", "/").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(text(response).await.contains("Wrong name or password"));
    // Every route but sign-in, static files and health needs credentials: the API description too.
    let request = Request::get("/api/v1/openapi.json")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.send_as_is(request).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

// 4.
#[tokio::test]
async fn comfyui_input_names_belong_to_each_person() {
    let app = test_app(0, 100).await;
    let (_, alice) = user(&app, "alice", Role::Staff).await;
    let (_, bob) = user(&app, "bob", Role::Staff).await;
    let a = png();
    let b = jpeg(64, 48);
    assert_eq!(
        comfy_upload(&app, &alice, "scan.png", &a).await.1["name"],
        "scan.png"
    );
    // Bob's file of the same name neither replaces Alice's nor is renamed because of it.
    assert_eq!(
        comfy_upload(&app, &bob, "scan.png", &b).await.1["name"],
        "scan.png"
    );
    assert_eq!(view_input(&app, &alice).await, (StatusCode::OK, a));
    assert_eq!(view_input(&app, &bob).await, (StatusCode::OK, b));
    // Carol cannot find either.
    let (_, carol) = user(&app, "carol", Role::Staff).await;
    assert_eq!(view_input(&app, &carol).await.0, StatusCode::NOT_FOUND);
}

// 5.
#[tokio::test]
async fn a_job_whose_original_is_also_a_comfyui_input_can_be_deleted() {
    let app = test_app(0, 100).await;
    let (status, _) = comfy_upload(&app, &app.token, "scan.png", &png()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = submit_as(&app, &app.token, &[("images", "scan.png", &png())]).await;
    assert_eq!(status, StatusCode::OK);
    let id = answer["files"][0]["job_id"].as_str().unwrap().to_string();
    let request = Request::post("/api/delete_job")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(format!("id={id}")))
        .unwrap();
    let response = app.send(request).await;
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs").await, 0);
    // The original stays while the ComfyUI input name refers to it.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM originals").await, 1);
    let (status, _) = app.get("/view?filename=scan.png&type=input").await;
    assert_eq!(status, StatusCode::OK);
}

// 6. and 12.
#[tokio::test]
async fn a_stop_releases_idempotency_keys_in_progress_and_removes_stale_uploads() {
    let mut app = test_app(0, 100).await;
    let admin: i64 = count(&app, "SELECT id FROM users WHERE name = 'admin'").await;
    sqlx::query("INSERT INTO idempotency_keys (owner_id, key) VALUES ($1, 'cut-off')")
        .bind(admin)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO idempotency_keys (owner_id, key, response, created_at) VALUES ($1, 'old', '{\"x\":1}', $2)")
        .bind(admin)
        .bind(app::db::now_plus(-25 * 3600))
        .execute(&app.db)
        .await
        .unwrap();
    let stale = app.dir.path().join("data/tmp/0193c3a8-stale-upload");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, b"half an upload").unwrap();
    app.restart().await;
    assert!(
        !stale.exists(),
        "a crash's temporary upload is removed at start-up"
    );
    for key in ["cut-off", "old"] {
        let (content_type, body) = multipart(&[("images", "a.png", &png())]);
        let request = Request::post("/api/v1/jobs")
            .header(header::CONTENT_TYPE, content_type)
            .header("idempotency-key", key)
            .body(Body::from(body))
            .unwrap();
        let response = app.send(request).await;
        assert_eq!(response.status(), StatusCode::OK, "key {key}");
        assert!(
            response.headers().get("idempotent-replayed").is_none(),
            "key {key} was processed anew"
        );
    }
}

// 7.
#[tokio::test]
async fn nobody_adds_files_to_another_persons_batch() {
    let app = test_app(0, 100).await;
    let (_, staff) = user(&app, "staff7", Role::Staff).await;
    let (_, answer) = submit_as(&app, &app.token, &[("images", "a.png", &png())]).await;
    let batch = answer["batch_id"].as_str().unwrap().to_string();
    let (status, refusal) = submit_as(
        &app,
        &staff,
        &[("batch", "", batch.as_bytes()), ("images", "b.png", &png())],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(refusal["error"]
        .as_str()
        .unwrap()
        .contains("belongs to someone else"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs").await, 1);
    // The owner may add to it.
    let (status, _) = submit_as(
        &app,
        &app.token,
        &[("batch", "", batch.as_bytes()), ("images", "b.png", &png())],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs").await, 2);
}

// 8.
#[tokio::test]
async fn event_streams_close_when_the_token_is_revoked_or_the_account_disabled() {
    let app = test_app_with(0, 100, |c| {
        c.limits.access_recheck = Duration::from_millis(200)
    })
    .await;
    let (id, token) = user(&app, "watcher", Role::Staff).await;
    let address = serve(app.router.clone()).await;

    // Server-sent events with a token, revoked behind the stream's back.
    let mut events = reqwest::Client::new()
        .get(format!("http://{address}/api/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let rows = store::list_tokens(&app.db, id).await.unwrap();
    assert!(store::revoke_token(&app.db, id, &rows[0].id).await.unwrap());
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = events.chunk().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the event stream ended after the token was revoked"
    );

    // ComfyUI's websocket with a session, closed when the account is disabled.
    let cookie = cookie_of(&app, "watcher", "a-long-password").await;
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{address}/ws?clientId=w1"
        ))
        .unwrap();
    request
        .headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    request
        .headers_mut()
        .insert(header::HOST, address.to_string().parse().unwrap());
    request
        .headers_mut()
        .insert(header::ORIGIN, format!("http://{address}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    store::set_disabled(&app.db, id, true).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        use futures_util::StreamExt;
        loop {
            match socket.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the websocket closed after the account was disabled"
    );
}

// 9.
#[tokio::test]
async fn slow_clients_are_cut_off_and_an_oversized_declared_submission_is_refused_at_once() {
    // A whole submission may be 50 MB here, less than 20 files of 10 MB each.
    let app = test_app_with(0, 100, |c| c.limits.max_submission_bytes = 50 << 20).await;
    let address = serve_with(app.router.clone(), Duration::from_millis(300)).await;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tinct.test\r\n")
        .await
        .unwrap();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buffer)).await;
    assert!(
        read.is_ok(),
        "the server closed a connection whose headers never ended"
    );

    // A declared 100 MB is refused unread.
    let request = Request::post("/api/v1/jobs")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
        .header(header::CONTENT_LENGTH, (100u64 << 20).to_string())
        .body(Body::from("--x--\r\n"))
        .unwrap();
    assert_eq!(
        app.send(request).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

// 10.
#[tokio::test]
async fn first_views_of_a_preview_at_once_all_get_the_same_image() {
    let app = test_app(1, 100).await;
    let (_, answer) = submit_as(&app, &app.token, &[("images", "a.png", &png())]).await;
    let id = answer["files"][0]["job_id"].as_str().unwrap().to_string();
    wait_until_done(&app, &id).await;
    let uri = format!("/api/v1/jobs/{id}/preview/result");
    let views = (0..4).map(|_| app.get(&uri));
    let answers = futures_util::future::join_all(views).await;
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::OK);
        assert_eq!(body, &answers[0].1);
    }
}

// 11.
#[tokio::test]
async fn a_formula_in_a_file_name_stays_text_in_the_zip_manifest() {
    let app = test_app(1, 100).await;
    let name = "=HYPERLINK(1).png";
    let (_, answer) = submit_as(&app, &app.token, &[("images", name, &png())]).await;
    let id = answer["files"][0]["job_id"].as_str().unwrap().to_string();
    wait_until_done(&app, &id).await;
    let response = app
        .send(
            Request::get(format!("/api/v1/jobs/zip?id={id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = to_bytes(response.into_body(), 50 << 20).await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut manifest = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("manifest.csv").unwrap(), &mut manifest)
        .unwrap();
    assert!(manifest.contains(",'=HYPERLINK(1).png,"), "{manifest}");
    assert!(!manifest.contains(",=HYPERLINK"), "{manifest}");
}

// 13.
#[tokio::test]
async fn a_truncated_jpeg_or_png_is_refused_at_upload_next_to_its_name() {
    let app = test_app(0, 100).await;
    let whole_png = png();
    let whole_jpeg = jpeg(200, 150);
    let cut_png = whole_png[..whole_png.len() * 2 / 3].to_vec();
    let cut_jpeg = whole_jpeg[..whole_jpeg.len() * 2 / 3].to_vec();
    let (status, answer) = submit_as(
        &app,
        &app.token,
        &[
            ("images", "cut.png", &cut_png),
            ("images", "cut.jpg", &cut_jpeg),
            ("images", "whole.jpg", &whole_jpeg),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let files = answer["files"].as_array().unwrap();
    for (file, name) in files.iter().zip(["cut.png", "cut.jpg"]) {
        assert_eq!(file["name"], name);
        assert_eq!(file["accepted"], false);
        assert!(
            file["error"].as_str().unwrap().contains("truncated"),
            "{file}"
        );
    }
    assert_eq!(files[2]["accepted"], true);
}

// The limits and the one transaction apply to ComfyUI's doors too.
#[tokio::test]
async fn comfyui_prompts_are_rate_limited_queued_whole_or_not_at_all_and_uploads_may_be_large() {
    let app = test_app_with(0, 1, |c| c.limits.submissions_per_minute = 3).await;
    // A 3 MB upload (axum's default would refuse anything over 2 MB).
    let noise = image::DynamicImage::ImageRgb8(image::ImageBuffer::from_fn(1000, 1000, |x, y| {
        let v = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) as u8;
        image::Rgb([v, v.wrapping_mul(3), v.wrapping_mul(7)])
    }));
    let mut big = std::io::Cursor::new(Vec::new());
    noise.write_to(&mut big, image::ImageFormat::Png).unwrap();
    assert!(big.get_ref().len() > 2 << 20);
    let (status, uploaded) = comfy_upload(&app, &app.token, "big.png", big.get_ref()).await;
    assert_eq!(status, StatusCode::OK, "{uploaded}");

    // Two outputs but room for one job: nothing of the prompt is queued.
    let body = json!({ "prompt": colorize_graph("big.png", 2) }).to_string();
    let (status, _) = post_prompt(&app, "application/json", body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM comfy_prompts").await, 0);

    // Form-encoded like Python's urllib sends it, with the client's own prompt id.
    let body = json!({ "prompt": colorize_graph("big.png", 1), "prompt_id": "my-id-1", "client_id": "c1" }).to_string();
    let (status, answer) =
        post_prompt(&app, "application/x-www-form-urlencoded", body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["prompt_id"], "my-id-1");
    let extra: String =
        sqlx::query_scalar("SELECT extra_data FROM comfy_prompts WHERE prompt_id = 'my-id-1'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&extra).unwrap()["client_id"],
        "c1"
    );
    // The same id again is refused; no prompt at all is ComfyUI's `no_prompt`.
    let (status, answer) = post_prompt(&app, "application/json", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already taken"));
    let (status, answer) = post_prompt(&app, "application/json", "{}".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["type"], "no_prompt");
    // The fourth prompt in a minute is one too many (3 allowed).
    let body = json!({ "prompt": colorize_graph("big.png", 1) }).to_string();
    let (status, answer) = post_prompt(&app, "application/json", body).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
}

// 10. (the job side)
#[tokio::test]
async fn jobs_whose_originals_do_not_fit_the_memory_budget_together_run_one_after_the_other() {
    // Two workers, but a budget of one megapixel: two 1200 × 1000 originals cannot run at once.
    let app = test_app_with(2, 100, |c| c.job_megapixels = 1).await;
    let big = jpeg(1200, 1000);
    let mut events = app.workers.events.subscribe();
    let (status, answer) = submit_as(
        &app,
        &app.token,
        &[("images", "a.jpg", &big), ("images", "b.jpg", &big)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let mut running = 0usize;
    let mut finished = 0;
    while finished < 2 {
        let event = tokio::time::timeout(Duration::from_secs(60), events.recv())
            .await
            .expect("the jobs finished within a minute")
            .unwrap();
        match event.status {
            app::jobs::JobStatus::Running => {
                running += 1;
                assert_eq!(running, 1, "both jobs ran at once");
            }
            status if status.is_finished() => {
                assert_eq!(status, app::jobs::JobStatus::Done);
                running -= 1;
                finished += 1;
            }
            _ => {}
        }
    }
}

// One submission per file at once into one batch, as the upload page sends them: none is refused
// for a busy database.
#[tokio::test]
async fn files_sent_at_once_into_one_batch_are_all_queued() {
    let app = test_app(0, 100).await;
    let batch = "0193c3a8-0000-7000-8000-0000000000ab";
    let png = png();
    let sends = (0..6).map(|i| {
        let name = format!("scan-{i}.png");
        let (app, png) = (&app, png.clone());
        async move {
            submit_as(
                app,
                &app.token,
                &[("batch", "", batch.as_bytes()), ("images", &name, &png)],
            )
            .await
        }
    });
    for (status, answer) in futures_util::future::join_all(sends).await {
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs").await, 6);
}
