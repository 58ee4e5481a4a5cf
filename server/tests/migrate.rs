//! `tinct migrate`: an installation on SQLite and a local folder moves to PostgreSQL and Garage,
//! checked, and the moved installation serves the same jobs, results and accounts.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use app::storage::{ObjectKey, ObjectStore, S3Store, StorageLocation};
use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use server::web::{router, AppState};

use support::garage::Garage;
use support::postgres::Postgres;
use support::{json, multipart, server_fn, test_app, test_data, wait_until_finished, TestApp};

fn tinct(dir: &Path, args: &[&str], garage: &Garage) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tinct"));
    command
        .args(args)
        .env("TINCT_DATA_DIR", dir.join("data"))
        .envs(garage.env());
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installation_moves_to_postgresql_and_garage_and_serves_the_same_results() {
    // An installation with finished jobs, a review note and a second account.
    let app = test_app(1, 100).await;
    let png = std::fs::read(test_data("reference_input.png")).unwrap();
    let (content_type, body) = multipart(&[
        ("size", "", b"64"),
        ("images", "harbour.png", &png),
        ("images", "castle.png", &png[..]),
    ]);
    let request = Request::post("/api/v1/jobs")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, body) = json(app.send(request).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let jobs = wait_until_finished(&app, body["batch_id"].as_str().unwrap()).await;
    let id = jobs[0]["id"].as_str().unwrap().to_string();
    let (status, answer) = server_fn(
        &app,
        "review_photo",
        &format!("id={id}&state=approved&note=door+colour+from+the+1931+permit"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    app::auth::store::add_user(&app.db, "Ana", app::auth::Role::Staff, "ana-password-12")
        .await
        .unwrap();
    let local_result = std::fs::read(
        app.dir.path().join("data/objects").join(
            jobs[0]["id"]
                .as_str()
                .map(|i| format!("results/{i}.png"))
                .unwrap(),
        ),
    )
    .unwrap();

    let (postgres, garage) = (Postgres::start(), Garage::start());
    let target = postgres.new_database().await;
    let work = tempfile::tempdir().unwrap();
    let data = app.dir.path().join("data");
    let args = [
        "migrate".to_string(),
        "--from".into(),
        format!("sqlite://{}", app.dir.path().join("tinct.db").display()),
        "--to".into(),
        target.clone(),
        "--storage-from".into(),
        format!("file://{}", data.join("objects").display()),
        "--storage-to".into(),
        "s3://tinct-test/moved".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = tinct(work.path(), &args, &garage);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("jobs: 2 rows copied and checked"),
        "{report}"
    );
    assert!(
        report.contains("users: 2 rows copied and checked"),
        "{report}"
    );
    assert!(
        report.contains("photo_reviews: 1 rows copied and checked"),
        "{report}"
    );
    assert!(
        report.contains("originals: 1 objects copied and checked"),
        "{report}"
    );
    assert!(
        report.contains("results: 2 objects copied and checked"),
        "{report}"
    );

    // A source that does not exist is named, not created empty and copied.
    let missing = tinct(
        work.path(),
        &[
            "migrate",
            "--from",
            "sqlite:///nonexistent/tinct.db",
            "--to",
            &target,
        ],
        &garage,
    );
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("no database at /nonexistent/tinct.db"),
        "{}",
        text(&missing.stderr)
    );

    // Moving again into the now occupied database is refused, and changes nothing.
    let again = tinct(work.path(), &args[..5], &garage);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already holds users or jobs"),
        "{}",
        text(&again.stderr)
    );

    // The moved installation: the same jobs, results, review and accounts, on the new engines.
    let moved = S3Store::open(&garage.settings("moved")).unwrap();
    let key = ObjectKey::result(&id, "png").unwrap();
    assert_eq!(moved.get_bytes(&key).await.unwrap(), local_result);
    let db = server::db::connect(Some(&target), work.path())
        .await
        .unwrap();
    let mut config = app.config.clone();
    config.storage = StorageLocation::S3(garage.settings("moved"));
    config.data_dir = work.path().join("data");
    let state = AppState::start(db.clone(), support::engine(work.path()), config.clone())
        .await
        .unwrap();
    let sessions = server::web::session_store(&db).await.unwrap();
    let moved_app = TestApp {
        workers: state.jobs.clone(),
        router: router(state, sessions),
        db,
        dir: work,
        // The admin's API token moved too.
        token: app.token.clone(),
        config,
        garage: None,
        postgres: None,
    };
    let (status, job) = moved_app.get_json(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(job["status"], "done");
    assert_eq!(job["review_state"], "approved");
    assert_eq!(job["review_note"], "door colour from the 1931 permit");
    let response = moved_app
        .send(
            Request::get(format!("/api/v1/jobs/{id}/result"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let served = to_bytes(response.into_body(), 10 << 20).await.unwrap();
    assert_eq!(served.as_ref(), local_result.as_slice());
    // A search finds the note; Ana signs in with her password (names are case-blind).
    let admin = app::auth::Principal {
        user_id: 1,
        name: "admin".into(),
        role: app::auth::Role::Admin,
        scopes: None,
        token_id: None,
    };
    // Both files are the same scan, so one photo: the note is found on both its versions.
    for (search, expected) in [("permit", 2), ("castle", 1), ("harbour", 1), ("absent", 0)] {
        let query = app::jobs::read::JobQuery {
            search: Some(search.into()),
            limit: 10,
            ..Default::default()
        };
        let found = app::jobs::read::list(&moved_app.db, &admin, &query)
            .await
            .unwrap();
        assert_eq!(found.len(), expected, "search {search:?}");
    }
    assert!(
        app::auth::store::authenticate(&moved_app.db, "ana", "ana-password-12")
            .await
            .unwrap()
            .is_some()
    );
    drop((postgres, garage));
}
