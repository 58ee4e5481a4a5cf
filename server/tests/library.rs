//! The library around the photos: named batches and the Batches list, refusals and skipped
//! duplicates kept with their batch, search over names, batches and notes (and its speed with
//! 10,000 photos), bulk actions and a whole batch as one ZIP.

mod support;

use std::io::Read;
use std::time::{Duration, Instant};

use app::auth::{store, Principal, Role, Scope};
use app::jobs::read::{self, JobQuery, Order};
use app::jobs::JobStatus;
use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use serde_json::Value;

use support::{json, multipart, server_fn, test_app, test_data, wait_until_finished, TestApp};

fn png() -> Vec<u8> {
    std::fs::read(test_data("reference_input.png")).unwrap()
}

/// A small grey scan of its own content (a photo is one content in one batch).
fn scan(shade: u8) -> Vec<u8> {
    let image = image::GrayImage::from_fn(48, 40, |x, y| {
        image::Luma([shade.wrapping_add((x + y) as u8)])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

async fn submit(app: &TestApp, fields: &[(&str, &str, &[u8])]) -> Value {
    let (content_type, body) = multipart(fields);
    let request = Request::post("/api/v1/jobs")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, body) = json(app.send(request).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A bulk action as a program sends it: the JSON outcome.
async fn bulk_json(app: &TestApp, form: String) -> Value {
    let request = Request::post("/api/v1/jobs/bulk")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let (status, outcome) = json(app.send(request).await).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    outcome
}

/// A bulk action as the gallery's form sends it: the redirect back.
async fn bulk_from_page(app: &TestApp, form: String) -> axum::response::Response {
    let request = Request::post("/api/v1/jobs/bulk")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .body(Body::from(form))
        .unwrap();
    app.send(request).await
}

async fn call(app: &TestApp, name: &str, form: &str) -> Value {
    let (status, body) = server_fn(app, name, form).await;
    assert_eq!(status, StatusCode::OK, "{name}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn a_named_batch_is_listed_with_its_counts_and_keeps_its_refusals() {
    let app = test_app(1, 100).await;
    let png = png();
    let body = submit(
        &app,
        &[
            ("size", "", b"64"),
            ("batch_name", "", "Castle 1931".as_bytes()),
            ("description", "", b"North gate, glass plates"),
            ("images", "gate.png", &png),
            ("images", "notes.txt", b"not a picture at all"),
        ],
    )
    .await;
    let batch = body["batch_id"].as_str().unwrap().to_string();
    assert_eq!(body["files"][1]["accepted"], false);
    wait_until_finished(&app, &batch).await;

    let batches = call(&app, "list_batches", "").await;
    let listed = batches
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == batch.as_str())
        .unwrap_or_else(|| panic!("the batch is not listed: {batches}"));
    assert_eq!(listed["name"], "Castle 1931");
    assert_eq!(listed["description"], "North gate, glass plates");
    assert_eq!(
        (listed["done"].as_i64(), listed["not_jobs"].as_i64()),
        (Some(1), Some(1))
    );

    // The refusal belongs to the batch: a page reading it later still shows it, with the reason.
    let contents = call(&app, "batch_contents", &format!("batch={batch}")).await;
    let files = contents["detail"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{contents}");
    assert_eq!(files[0]["name"], "notes.txt");
    assert_eq!(files[0]["state"], "refused");
    assert!(
        files[0]["message"]
            .as_str()
            .unwrap()
            .contains("not an image"),
        "{contents}"
    );
    assert_eq!(contents["jobs"].as_array().unwrap().len(), 1);

    // The same name sent again as a real image becomes a job and leaves the refusals.
    let again = submit(
        &app,
        &[
            ("size", "", b"64"),
            ("batch", "", batch.as_bytes()),
            ("images", "notes.txt", &png),
        ],
    )
    .await;
    assert_eq!(again["files"][0]["accepted"], true);
    let contents = call(&app, "batch_contents", &format!("batch={batch}")).await;
    assert_eq!(
        contents["detail"]["files"],
        Value::Array(vec![]),
        "{contents}"
    );

    // Files listed on the page before their upload are kept as "listed" until they arrive.
    call(
        &app,
        "start_batch",
        &format!(
            "batch={batch}&name={}&description=&files[0][name]=later.png&files[0][bytes]=1234",
            encode("Castle 1931, north gate")
        ),
    )
    .await;
    // A hostile page's reason is kept as a sentence, not as a document.
    let long = "x".repeat(5000);
    call(
        &app,
        "start_batch",
        &format!("batch={batch}&name=Castle&files[0][name]=huge.png&files[0][bytes]=1&files[0][refusal]={long}"),
    )
    .await;
    let contents = call(&app, "batch_contents", &format!("batch={batch}")).await;
    let huge = contents["detail"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "huge.png")
        .unwrap()
        .clone();
    assert_eq!(huge["message"].as_str().unwrap().len(), 300);
    call(
        &app,
        "start_batch",
        &format!("batch={batch}&name={}", encode("Castle 1931, north gate")),
    )
    .await;
    let contents = call(&app, "batch_contents", &format!("batch={batch}")).await;
    assert_eq!(contents["detail"]["name"], "Castle 1931, north gate");
    let later = contents["detail"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "later.png")
        .unwrap_or_else(|| panic!("{contents}"))
        .clone();
    assert_eq!(
        (later["state"].as_str(), later["bytes"].as_i64()),
        (Some("listed"), Some(1234))
    );
}

#[tokio::test]
async fn a_batch_cannot_be_renamed_or_read_by_someone_it_is_hidden_from() {
    let app = test_app(1, 100).await;
    let png = png();
    let body = submit(
        &app,
        &[
            ("size", "", b"64"),
            ("private", "", b"true"),
            ("batch_name", "", b"Private papers"),
            ("images", "letter.png", &png),
        ],
    )
    .await;
    let batch = body["batch_id"].as_str().unwrap().to_string();
    store::add_user(&app.db, "sam", Role::Staff, "a-long-password")
        .await
        .unwrap();
    let cookie = app.sign_in("sam", "a-long-password").await.unwrap();
    let request = |name: &str, form: String| {
        Request::post(format!("/api/{name}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::HOST, "tinct.test")
            .header(header::ORIGIN, "http://tinct.test")
            .header(header::COOKIE, cookie.clone())
            .body(Body::from(form))
            .unwrap()
    };
    let renamed = app
        .send(request(
            "start_batch",
            format!("batch={batch}&name=mine&description="),
        ))
        .await;
    assert!(!renamed.status().is_success());
    let text = to_bytes(renamed.into_body(), 1 << 20).await.unwrap();
    // A typed error: its kind for the page to match on, and its sentence.
    let refusal: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(refusal["kind"], "forbidden", "{refusal}");
    assert_eq!(
        refusal["message"],
        "this batch belongs to someone else; start a new batch instead"
    );
    let (_, listed) = json(app.send(request("list_batches", String::new())).await).await;
    assert_eq!(
        listed,
        Value::Array(vec![]),
        "a private batch was listed for another"
    );
    let (_, contents) = json(
        app.send(request("batch_contents", format!("batch={batch}")))
            .await,
    )
    .await;
    assert_eq!(contents["detail"], Value::Null);
    assert_eq!(contents["jobs"], Value::Array(vec![]));
    // Nor does the page's duplicate check tell them the private letter exists.
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&png))
    };
    wait_until_finished(&app, &batch).await;
    let (_, known) = json(
        app.send(request("colorized_already", format!("sha256={sha256}")))
            .await,
    )
    .await;
    assert_eq!(known, Value::Null);
    assert_eq!(
        call(&app, "colorized_already", &format!("sha256={sha256}")).await[0],
        1,
        "its owner is told"
    );
}

#[tokio::test]
async fn content_already_colorized_is_said_and_can_be_skipped_then_colorized() {
    let app = test_app(1, 100).await;
    let png = png();
    let first = submit(&app, &[("size", "", b"64"), ("images", "a.png", &png)]).await;
    let first_batch = first["batch_id"].as_str().unwrap().to_string();
    let first_job = first["files"][0]["job_id"].as_str().unwrap().to_string();
    assert_eq!(first["files"][0].get("duplicate"), None, "{first}");
    wait_until_finished(&app, &first_batch).await;

    // The upload page asks by the content's SHA-256 before it sends anything.
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&png))
    };
    let known = call(&app, "colorized_already", &format!("sha256={sha256}")).await;
    assert_eq!(known, serde_json::json!([1, first_job]));
    let unknown = call(
        &app,
        "colorized_already",
        &format!("sha256={}", "0".repeat(64)),
    )
    .await;
    assert_eq!(unknown, Value::Null);
    let (status, refusal) = server_fn(&app, "colorized_already", "sha256=harbour.png").await;
    assert!(!status.is_success(), "{refusal}");
    assert!(refusal.contains("64 hexadecimal digits"), "{refusal}");

    // The same content under another name, asking to skip what was done before.
    let skipped = submit(
        &app,
        &[
            ("size", "", b"64"),
            ("duplicates", "", b"skip"),
            ("images", "b.png", &png),
        ],
    )
    .await;
    let batch = skipped["batch_id"].as_str().unwrap().to_string();
    let file = &skipped["files"][0];
    assert_eq!(
        (file["accepted"].as_bool(), file["skipped"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(file["duplicate"]["times"], 1);
    assert_eq!(file["duplicate"]["job_id"], first_job.as_str());
    let (_, jobs) = app.get_json(&format!("/api/v1/jobs?batch={batch}")).await;
    assert_eq!(jobs, Value::Array(vec![]), "a skipped file was queued");
    let contents = call(&app, "batch_contents", &format!("batch={batch}")).await;
    let kept = &contents["detail"]["files"][0];
    assert_eq!(
        (kept["state"].as_str(), kept["colorized_times"].as_i64()),
        (Some("skipped"), Some(1))
    );
    assert_eq!(kept["duplicate_of"], first_job.as_str());

    // The person chooses to colorize it after all: with the settings it came with.
    let job: Value = call(
        &app,
        "colorize_skipped",
        &format!("batch={batch}&name=b.png"),
    )
    .await;
    let job_id = job.as_str().unwrap().to_string();
    let jobs = wait_until_finished(&app, &batch).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0]["id"].as_str(), jobs[0]["status"].as_str()),
        (Some(job_id.as_str()), Some("done"))
    );
    assert_eq!(jobs[0]["input_size"], 64);
    let contents = call(&app, "batch_contents", &format!("batch={batch}")).await;
    assert_eq!(contents["detail"]["files"], Value::Array(vec![]));

    // By default (the server's --duplicates colorize) it is queued again, and the answer says how
    // often it was done before.
    let again = submit(&app, &[("size", "", b"64"), ("images", "c.png", &png)]).await;
    assert_eq!(again["files"][0]["accepted"], true);
    assert_eq!(again["files"][0]["duplicate"]["times"], 2, "{again}");
    assert_eq!(again["files"][0]["duplicate"]["job_id"], job_id.as_str());

    let (status, body) = {
        let (content_type, form) =
            multipart(&[("duplicates", "", b"maybe"), ("images", "d.png", &png)]);
        let request = Request::post("/api/v1/jobs")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(form))
            .unwrap();
        json(app.send(request).await).await
    };
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn search_finds_file_names_batch_names_and_notes_and_sorts_by_name() {
    let app = test_app(1, 100).await;
    let body = submit(
        &app,
        &[
            ("size", "", b"64"),
            ("batch_name", "", b"Summer fair 1952"),
            ("images", "HA-1931-0042_castle.png", &scan(10)),
            ("images", "harbour.png", &scan(70)),
            ("images", "Abbey.png", &scan(130)),
        ],
    )
    .await;
    let batch = body["batch_id"].as_str().unwrap().to_string();
    let jobs = wait_until_finished(&app, &batch).await;
    let harbour = jobs
        .iter()
        .find(|j| j["original_name"] == "harbour.png")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let review = Request::post(format!("/api/v1/jobs/{harbour}/review"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"state":"approved","note":"door colour from the 1931 building permit"}"#,
        ))
        .unwrap();
    assert!(app.send(review).await.status().is_success());

    let names = |found: &Value| -> Vec<String> {
        found
            .as_array()
            .unwrap_or_else(|| panic!("{found}"))
            .iter()
            .map(|j| j["original_name"].as_str().unwrap().to_string())
            .collect()
    };
    let search = |q: &str, sort: &str| format!("filter[q]={}&filter[sort]={sort}", encode(q));
    // A part of a name, in any case.
    let found = call(&app, "list_results", &search("0042", "")).await;
    assert_eq!(names(&found), ["HA-1931-0042_castle.png"]);
    let found = call(&app, "list_results", &search("CASTLE", "")).await;
    assert_eq!(names(&found), ["HA-1931-0042_castle.png"]);
    // The batch's name finds its photos; a review note finds its photo.
    let found = call(&app, "list_results", &search("summer fair", "name")).await;
    assert_eq!(
        names(&found),
        ["Abbey.png", "HA-1931-0042_castle.png", "harbour.png"]
    );
    let found = call(&app, "list_results", &search("permit", "")).await;
    assert_eq!(names(&found), ["harbour.png"]);
    // Short words are looked for in names too; operators are searched for, not obeyed.
    let found = call(&app, "list_results", &search("ab", "")).await;
    assert_eq!(names(&found), ["Abbey.png"]);
    let found = call(&app, "list_results", &search("castle OR harbour", "")).await;
    assert_eq!(names(&found), Vec::<String>::new());
    let found = call(&app, "list_results", &search("\"unclosed", "")).await;
    assert_eq!(names(&found), Vec::<String>::new());
}

/// The issue's bound: the first page of 10,000 photos in under 200 ms, for the gallery's default
/// order, by name, and with a search. Measured as the best of three, so that one stall of a busy
/// machine does not decide it.
#[tokio::test]
async fn the_first_page_of_ten_thousand_photos_comes_in_under_200_ms() {
    let app = test_app(0, 100).await;
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("INSERT INTO batches (id, name) VALUES ('b1', 'Glass plates 1900-1950')")
        .execute(&mut *tx)
        .await
        .unwrap();
    for i in 0..10_000 {
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO jobs (id, batch_id, original_name, original_sha256, preset, input_size,
                               model, status, result_key, finished_at)
             VALUES ($1, 'b1', $2, $3, 'portrait', 64, 'tiny', 'done', 'x', '2026-12-03T10:00:00Z')",
        )
        .bind(&id)
        .bind(format!(
            "HA-{:05}_{}.tif",
            i,
            ["castle", "harbour", "abbey", "mill"][i % 4]
        ))
        .bind(format!("{i:064x}"))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let admin = Principal {
        user_id: 1,
        name: "admin".into(),
        role: Role::Admin,
        scopes: Some(Scope::ALL.to_vec()),
        token_id: None,
    };
    let queries = [
        (
            "newest first",
            JobQuery {
                order: Order::NewestById,
                ..Default::default()
            },
        ),
        (
            "by name",
            JobQuery {
                order: Order::Name,
                ..Default::default()
            },
        ),
        (
            "a search",
            JobQuery {
                search: Some("harbour".into()),
                ..Default::default()
            },
        ),
        (
            "a short search",
            JobQuery {
                search: Some("07".into()),
                ..Default::default()
            },
        ),
    ];
    for (what, query) in queries {
        let query = JobQuery {
            status: Some(JobStatus::Done),
            chosen_only: true,
            limit: 60,
            ..query
        };
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let started = Instant::now();
            let page = read::list(&app.db, &admin, &query).await.unwrap();
            best = best.min(started.elapsed());
            assert_eq!(page.len(), 60, "{what}");
        }
        println!("{what}: first page of 10,000 in {best:?}");
        assert!(best < Duration::from_millis(200), "{what}: {best:?}");
    }
}

#[tokio::test]
async fn bulk_actions_change_each_ticked_job_and_say_why_not() {
    let app = test_app(1, 100).await;
    let body = submit(
        &app,
        &[
            ("size", "", b"64"),
            ("batch_name", "", b"Bulk"),
            ("images", "one.png", &scan(10)),
            ("images", "two.png", &scan(70)),
            ("images", "three.png", &scan(130)),
        ],
    )
    .await;
    let batch = body["batch_id"].as_str().unwrap().to_string();
    let jobs = wait_until_finished(&app, &batch).await;
    let ids: Vec<String> = jobs
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();

    // The whole batch as one ZIP: every photo, with the manifest.
    let response = app
        .send(
            Request::get(format!("/api/v1/jobs/zip?batch={batch}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = to_bytes(response.into_body(), 50 << 20).await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".png")).count(),
        3,
        "{names:?}"
    );
    let mut manifest = String::new();
    zip.by_name("manifest.csv")
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    assert_eq!(manifest.lines().count(), 4, "{manifest}");

    // A retry of finished jobs is refused for each, with the reason; the program gets JSON.
    let form = format!("action=retry&id={}&id={}", ids[0], ids[1]);
    let outcome = bulk_json(&app, form).await;
    assert_eq!(outcome["changed"], 0);
    assert_eq!(outcome["refused"].as_array().unwrap().len(), 2);
    assert!(outcome["refused"][0]["error"]
        .as_str()
        .unwrap()
        .contains("only a failed or cancelled"));

    // Re-run two with another preset: two new versions are queued.
    let form = format!("action=rerun&preset=building&id={}&id={}", ids[0], ids[1]);
    let outcome = bulk_json(&app, form).await;
    assert_eq!(outcome["changed"], 2, "{outcome}");
    let jobs = wait_until_finished(&app, &batch).await;
    assert_eq!(jobs.len(), 5);
    // The model asked for is the one used; one that is not installed is refused for each job.
    let form = format!(
        "action=rerun&preset=portrait&model=no-such-model&id={}",
        ids[0]
    );
    let outcome = bulk_json(&app, form).await;
    assert_eq!(outcome["changed"], 0, "{outcome}");
    assert!(
        outcome["refused"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no-such-model"),
        "{outcome}"
    );
    assert_eq!(jobs.iter().filter(|j| j["preset"] == "building").count(), 2);

    // Delete from the gallery's form: back to the gallery with the outcome in words.
    let back = encode(&format!("/gallery?batch={batch}"));
    let form = format!("action=delete&id={}&back={back}", ids[2]);
    let response = bulk_from_page(&app, form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        location.starts_with(&format!("/gallery?batch={batch}&bulk=1")),
        "{location}"
    );
    let (_, jobs) = app.get_json(&format!("/api/v1/jobs?batch={batch}")).await;
    assert_eq!(jobs.as_array().unwrap().len(), 4);

    // Nothing ticked, and an address elsewhere to go back to: refused, and kept on this site.
    let form = format!("action=cancel&back={}", encode("https://evil.example/"));
    let response = bulk_from_page(&app, form).await;
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    assert!(location.starts_with("/gallery?refused=tick"), "{location}");

    // Viewers may not.
    store::add_user(&app.db, "vic", Role::Viewer, "a-long-password")
        .await
        .unwrap();
    let cookie = app.sign_in("vic", "a-long-password").await.unwrap();
    let request = Request::post("/api/v1/jobs/bulk")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .header(header::ORIGIN, "http://tinct.test")
        .header(header::HOST, "tinct.test")
        .body(Body::from(format!("action=delete&id={}", ids[0])))
        .unwrap();
    let (_, outcome) = json(app.send(request).await).await;
    assert_eq!(outcome["changed"], 0, "{outcome}");
    assert!(
        outcome["refused"][0]["error"]
            .as_str()
            .unwrap()
            .contains("role"),
        "{outcome}"
    );
}
