//! Review and correct over HTTP: corrected versions made from the kept model colours (with
//! what was done in their XMP), review decisions with notes, and who may do what.

mod support;

use std::io::Read;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};

use app::auth::{store, Role, Scope};
use engine::content_credentials::{verify, ContentCredentials};
use support::{
    json as read_json, make_signing_cert, multipart, test_app, test_app_with, test_data, TestApp,
};

fn png() -> Vec<u8> {
    std::fs::read(test_data("reference_input.png")).unwrap()
}

async fn user(app: &TestApp, name: &str, role: Role) -> String {
    let id = store::add_user(&app.db, name, role, "a-long-password")
        .await
        .unwrap();
    store::create_token(&app.db, id, "t", &Scope::ALL, None)
        .await
        .unwrap()
        .0
}

/// Sends `request` with `token` (the admin's when `None`).
async fn send(
    app: &TestApp,
    token: Option<&str>,
    request: axum::http::request::Builder,
    body: Body,
) -> (StatusCode, Vec<u8>) {
    let mut request = request.body(body).unwrap();
    if let Some(token) = token {
        request.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
    }
    let response = app.send(request).await;
    let status = response.status();
    (
        status,
        to_bytes(response.into_body(), 50 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
}

async fn post_json(
    app: &TestApp,
    token: Option<&str>,
    uri: &str,
    body: Value,
) -> (StatusCode, Value) {
    let (status, bytes) = send(
        app,
        token,
        Request::post(uri).header(header::CONTENT_TYPE, "application/json"),
        Body::from(body.to_string()),
    )
    .await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn get(app: &TestApp, token: Option<&str>, uri: &str) -> (StatusCode, Vec<u8>) {
    send(app, token, Request::get(uri), Body::empty()).await
}

/// Submits the test image (as `token`'s owner, private or shared); answers the job id once done.
async fn colorized(app: &TestApp, token: Option<&str>, private: bool) -> String {
    let (content_type, body) = multipart(&[
        ("size", "", b"64"),
        ("private", "", if private { b"true" } else { b"false" }),
        ("images", "harbour.png", &png()),
    ]);
    let (status, body) = send(
        app,
        token,
        Request::post("/api/v1/jobs").header(header::CONTENT_TYPE, content_type),
        Body::from(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let body: Value = serde_json::from_slice(&body).unwrap();
    let id = body["files"][0]["job_id"].as_str().unwrap().to_string();
    finished(app, &id).await
}

/// Waits until job `id` is done; answers its id.
async fn finished(app: &TestApp, id: &str) -> String {
    for _ in 0..300 {
        let (_, job) = app.get_json(&format!("/api/v1/jobs/{id}")).await;
        match job["status"].as_str() {
            Some("done") => return id.to_string(),
            Some("failed") => panic!("the job failed: {job}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("job {id} did not finish in 30 s");
}

async fn result_of(app: &TestApp, id: &str) -> image::RgbImage {
    let (status, bytes) = get(app, None, &format!("/api/v1/jobs/{id}/result")).await;
    assert_eq!(status, StatusCode::OK);
    image::load_from_memory(&bytes).unwrap().to_rgb8()
}

#[tokio::test]
async fn a_correction_is_a_new_version_from_the_kept_model_colours() {
    let app = test_app(1, 100).await;
    let first = colorized(&app, None, false).await;
    // The model's a/b output was kept for corrections.
    assert_eq!(app.stored_objects("colours").await, 1);

    // A green hint in the middle, strength 80 %.
    let (status, body) = post_json(
        &app,
        None,
        &format!("/api/v1/jobs/{first}/versions"),
        json!({"strength": 0.8, "hints": [{"x": 0.5, "y": 0.5, "radius": 0.05, "srgb": "#1f8f2f"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let corrected = finished(&app, body["job_id"].as_str().unwrap()).await;

    // The model did not run again, and no second copy of its colours was kept.
    let (_, job) = app.get_json(&format!("/api/v1/jobs/{corrected}")).await;
    let timings: Value = serde_json::from_str(job["timings"].as_str().unwrap()).unwrap();
    assert_eq!(timings["inference_ms"], 0.0, "{timings}");
    assert_eq!(app.stored_objects("colours").await, 1);
    assert_eq!(job["parent_id"], first.as_str());

    // The versions of the photo: the first and the corrected one, which is now the chosen one.
    let (_, versions) = app
        .get_json(&format!("/api/v1/jobs/{first}/versions"))
        .await;
    let versions = versions.as_array().unwrap();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(versions[1]["id"], corrected.as_str());
    assert_eq!(versions[1]["chosen"], true);
    assert_eq!(versions[0]["chosen"], false);

    // Where the hint is, the corrected version is green; the model's was not.
    let (model, fixed) = (
        result_of(&app, &first).await,
        result_of(&app, &corrected).await,
    );
    let (w, h) = model.dimensions();
    let greenness = |image: &image::RgbImage| {
        let p = image.get_pixel(w / 2, h / 2);
        i32::from(p[1]) - (i32::from(p[0]) + i32::from(p[2])) / 2
    };
    assert!(
        greenness(&fixed) > greenness(&model) + 10,
        "corrected {:?}, model {:?}",
        fixed.get_pixel(w / 2, h / 2),
        model.get_pixel(w / 2, h / 2)
    );

    // Its XMP says what was done in words and keeps the hints for programs.
    let (_, bytes) = get(&app, None, &format!("/api/v1/jobs/{corrected}/result")).await;
    let xmp = engine::provenance::read_xmp(&bytes).unwrap();
    assert!(
        xmp.contains(
            "AI-assisted colorization; colours corrected by a person: 1 hint, strength 80 %"
        ),
        "{xmp}"
    );
    assert!(
        xmp.contains("<tinct:CorrectedBy>admin</tinct:CorrectedBy>"),
        "{xmp}"
    );
    assert!(
        xmp.contains("&quot;srgb&quot;:&quot;#1f8f2f&quot;"),
        "{xmp}"
    );
    assert!(
        xmp.contains(&format!("<tinct:Corrects>{first}</tinct:Corrects>")),
        "{xmp}"
    );

    // Strength 0 and no hints: grey, at full resolution.
    let (_, body) = post_json(
        &app,
        None,
        &format!("/api/v1/jobs/{first}/versions"),
        json!({"strength": 0}),
    )
    .await;
    let grey = finished(&app, body["job_id"].as_str().unwrap()).await;
    let grey = result_of(&app, &grey).await;
    assert_eq!(grey.dimensions(), (w, h));
    assert!(grey
        .pixels()
        .all(|p| p[0].abs_diff(p[1]) <= 2 && p[1].abs_diff(p[2]) <= 2));

    // The choice can go back to the first version.
    let (status, _) = send(
        &app,
        None,
        Request::post(format!("/api/v1/jobs/{first}/choose")),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, versions) = app
        .get_json(&format!("/api/v1/jobs/{first}/versions"))
        .await;
    let chosen: Vec<&Value> = versions
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["chosen"] == true)
        .collect();
    assert_eq!(chosen.len(), 1);
    assert_eq!(chosen[0]["id"], first.as_str());
}

#[tokio::test]
async fn the_preview_of_a_correction_changes_with_the_hints() {
    let app = test_app(1, 100).await;
    let id = colorized(&app, None, false).await;
    let preview = |correction: Value| {
        let app = &app;
        let id = id.clone();
        async move {
            let query: String =
                form_urlencoded::byte_serialize(correction.to_string().as_bytes()).collect();
            get(
                app,
                None,
                &format!("/api/v1/jobs/{id}/correction-preview?c={query}"),
            )
            .await
        }
    };
    let (status, plain) = preview(json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, hinted) =
        preview(json!({"hints": [{"x": 0.3, "y": 0.3, "radius": 0.1, "lab": [60, 40]}]})).await;
    assert_eq!(status, StatusCode::OK);
    let (plain, hinted) = (
        image::load_from_memory(&plain).unwrap().to_rgb8(),
        image::load_from_memory(&hinted).unwrap().to_rgb8(),
    );
    assert_eq!(plain.dimensions(), hinted.dimensions());
    let (w, h) = plain.dimensions();
    let (a, b) = (
        plain.get_pixel(w * 3 / 10, h * 3 / 10),
        hinted.get_pixel(w * 3 / 10, h * 3 / 10),
    );
    assert!(b[0] > a[0] + 20, "the hint made it redder: {a:?} → {b:?}");

    // Bad corrections are refused with the reason.
    let (status, body) = preview(json!({"strength": 3})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("strength"));
    let (status, _) = get(
        &app,
        None,
        &format!("/api/v1/jobs/{id}/correction-preview?c=%7Bnot-json"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn corrections_that_cannot_be_applied_are_refused_with_the_reason() {
    let app = test_app(1, 100).await;
    let id = colorized(&app, None, false).await;
    let uri = format!("/api/v1/jobs/{id}/versions");
    for (correction, words) in [
        (json!({"strength": 2.0}), "strength"),
        (
            json!({"hints": [{"x": 1.5, "y": 0.5, "srgb": "#ff0000"}]}),
            "outside the image",
        ),
        (
            json!({"hints": [{"x": 0.5, "y": 0.5}]}),
            "exactly one colour",
        ),
        (
            json!({"hints": [{"x": 0.5, "y": 0.5, "srgb": "red"}]}),
            "#rrggbb",
        ),
        (
            json!({"hints": [{"x": 0.5, "y": 0.5, "radius": 0.9, "srgb": "#ff0000"}]}),
            "radius",
        ),
    ] {
        let (status, body) = post_json(&app, None, &uri, correction.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{correction}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(words),
            "{correction}: {body}"
        );
    }
    let (status, body) = post_json(
        &app,
        None,
        &format!("/api/v1/jobs/{id}/review"),
        json!({"state": "approved", "note": "x".repeat(2001)}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Nothing was queued by the refusals.
    let (_, versions) = app.get_json(&format!("/api/v1/jobs/{id}/versions")).await;
    assert_eq!(versions.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn reviews_are_recorded_and_only_those_who_may_change_a_photo_do() {
    let app = test_app(1, 100).await;
    let alice = user(&app, "alice", Role::Staff).await;
    let bob = user(&app, "bob", Role::Staff).await;
    let vera = user(&app, "vera", Role::Viewer).await;
    let shared = colorized(&app, Some(&alice), false).await;
    let private = colorized(&app, Some(&alice), true).await;
    let correction = json!({"hints": [{"x": 0.5, "y": 0.5, "srgb": "#1f8f2f"}]});
    let approve = json!({"state": "approved", "note": "door colour from the 1931 building permit"});

    // Bob may not even see Alice's private photo; the viewer may see shared ones but not change them.
    for path in ["versions", "review", "choose"] {
        let body = if path == "versions" {
            correction.clone()
        } else {
            approve.clone()
        };
        let (status, _) = post_json(
            &app,
            Some(&bob),
            &format!("/api/v1/jobs/{private}/{path}"),
            body.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "bob {path}");
        let (status, _) = post_json(
            &app,
            Some(&vera),
            &format!("/api/v1/jobs/{shared}/{path}"),
            body,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "vera {path}");
    }
    let (status, _) = get(
        &app,
        Some(&bob),
        &format!("/api/v1/jobs/{private}/versions"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(
        &app,
        Some(&vera),
        &format!("/api/v1/jobs/{shared}/versions"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Alice approves with a note; who and when are recorded, and everyone who sees it reads it.
    let (status, body) = post_json(
        &app,
        Some(&alice),
        &format!("/api/v1/jobs/{shared}/review"),
        approve,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, job) = get(&app, Some(&vera), &format!("/api/v1/jobs/{shared}")).await;
    let job: Value = serde_json::from_slice(&job).unwrap();
    assert_eq!(job["review_state"], "approved");
    assert_eq!(
        job["review_note"],
        "door colour from the 1931 building permit"
    );
    assert_eq!(job["reviewed_by"], "alice");
    assert!(job["reviewed_at"].as_str().unwrap().starts_with("20"));
    // The review filter finds it, and not the other photo.
    let (_, approved) = app.get_json("/api/v1/jobs?review=approved").await;
    let ids: Vec<&str> = approved
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [shared.as_str()]);
    let (_, to_review) = app.get_json("/api/v1/jobs?review=to_review").await;
    assert_eq!(to_review.as_array().unwrap().len(), 1);

    // A bulk decision is all or nothing: Bob may not see the private photo, so the shared one
    // he could reject stays approved.
    let (status, _) = send(
        &app,
        Some(&bob),
        Request::post("/api/v1/reviews")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
        Body::from(format!("id={shared}&id={private}&state=rejected")),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, job) = app.get_json(&format!("/api/v1/jobs/{shared}")).await;
    assert_eq!(job["review_state"], "approved");

    // The approved-only ZIP holds the approved photo's chosen version, with the decision and
    // note in its manifest; the other photo is left out.
    let (status, zip) = get(
        &app,
        Some(&alice),
        &format!("/api/v1/jobs/zip?id={shared}&id={private}&only=approved"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut manifest = String::new();
    zip.by_name("manifest.csv")
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    assert_eq!(manifest.lines().count(), 2, "{manifest}");
    assert!(
        manifest.contains(",approved,door colour from the 1931 building permit,alice,"),
        "{manifest}"
    );
    assert!(manifest.contains(&shared), "{manifest}");
}

#[tokio::test]
async fn the_gallery_approves_a_selection_in_one_form() {
    let app = test_app(1, 100).await;
    let (one, two) = (
        colorized(&app, None, false).await,
        colorized(&app, None, false).await,
    );
    let cookie = app.sign_in("admin", "admin-password-1").await.unwrap();
    let request = Request::post("/api/v1/reviews")
        .header(header::HOST, "tinct.test")
        .header(header::ORIGIN, "http://tinct.test")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "id={one}&id={two}&note=checked+against+the+register&state=approved"
        )))
        .unwrap();
    let response = app.send_as_is(request).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/gallery?review=approved&decided=2"
    );
    for id in [&one, &two] {
        let (_, job) = read_json(
            app.send(
                Request::get(format!("/api/v1/jobs/{id}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await,
        )
        .await;
        assert_eq!(job["review_state"], "approved");
        assert_eq!(job["review_note"], "checked against the register");
    }
    // From the page, a refusal comes back to the gallery in words; nothing ticked is one.
    let request = Request::post("/api/v1/reviews")
        .header(header::HOST, "tinct.test")
        .header(header::ORIGIN, "http://tinct.test")
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("note=&state=approved"))
        .unwrap();
    let response = app.send_as_is(request).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        location.starts_with("/gallery?refused=tick+at+least+one+photo"),
        "{location}"
    );
    let (_, page) = app.get(&location).await;
    assert!(
        page.contains("tick at least one photo, then approve or reject"),
        "{page}"
    );

    // A photo's review goes with its last version; the other photo's stays.
    let (status, _) = send(
        &app,
        None,
        Request::post("/api/delete_job")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
        Body::from(format!("id={one}")),
    )
    .await;
    assert!(status.is_success() || status.is_redirection(), "{status}");
    let reviews: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM photo_reviews")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(reviews, 1);
}

#[tokio::test]
async fn a_signed_correction_records_the_person_and_chains_to_the_corrected_version() {
    let certs = tempfile::tempdir().unwrap();
    let (chain, key) = make_signing_cert(certs.path(), "City Archive signer", "City Archive");
    let credentials =
        std::sync::Arc::new(ContentCredentials::from_files(&chain, &key, "es256").unwrap());
    let app = test_app_with(1, 100, |config| {
        config.content_credentials = Some(credentials)
    })
    .await;
    let first = colorized(&app, None, false).await;
    let (_, body) = post_json(
        &app,
        None,
        &format!("/api/v1/jobs/{first}/versions"),
        json!({"strength": 0.6, "hints": [{"x": 0.2, "y": 0.8, "srgb": "#8b2a1e"}]}),
    )
    .await;
    let corrected = finished(&app, body["job_id"].as_str().unwrap()).await;
    let (_, bytes) = get(&app, None, &format!("/api/v1/jobs/{corrected}/result")).await;
    let check = verify(&bytes, "image/png").expect("a C2PA manifest");
    assert!(check.is_valid(), "{check:?}");
    // Opened the original, colorized it, and a person corrected the colours.
    assert_eq!(
        check.actions,
        [
            "c2pa.opened",
            "c2pa.color_adjustments",
            "c2pa.color_adjustments"
        ],
        "{check:?}"
    );
    assert_eq!(check.actors, ["admin"], "{check:?}");
    assert_eq!(check.parents, ["harbour.png"], "{check:?}");
    assert_eq!(
        check.components,
        ["harbour.png (the version corrected)"],
        "{check:?}"
    );
    let (_, job) = app.get_json(&format!("/api/v1/jobs/{corrected}")).await;
    assert!(job["content_credentials"]
        .as_str()
        .unwrap()
        .starts_with("signed by City Archive signer"));
}
