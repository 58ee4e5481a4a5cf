//! Models through the app: the Admin page's catalogue, download with progress, default and
//! removal (admins only); a model chosen per job through REST, ComfyUI and "try another model".

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use support::{json as read_json, multipart, serve, server_fn, test_app, test_data, TestApp};

async fn report(app: &TestApp) -> Value {
    let (status, body) = server_fn(app, "models_report", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Serves the engine's test graphs over HTTP (with Range support), as a publisher would.
async fn publisher() -> std::net::SocketAddr {
    let files = tower_http::services::ServeDir::new(test_data(""));
    serve(axum::Router::new().nest_service("/files", files)).await
}

fn catalogue_entry(name: &str, url: &str, sha256: &str, family: &str) -> String {
    format!(
        r#"
[[model]]
name = "{name}"
display_name = "Test {name}"
family = "{family}"
urls = ["{url}"]
sha256 = "{sha256}"
checksum_source = "computed by the test"
licence = "MIT (test)"
source = "tools/reference/make_test_data.py"
input_size = {{ best = 64, min = 32, max = 128 }}
precision = "float32"
note = "a generated test graph"
"#
    )
}

async fn wait_for_download(app: &TestApp, name: &str) -> Value {
    for _ in 0..200 {
        let report = report(app).await;
        let download = report["downloads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .cloned()
            .unwrap_or(Value::Null);
        if download["state"] != "Running" {
            return download;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the download of {name} did not finish");
}

#[tokio::test]
async fn an_admin_downloads_a_catalogue_model_makes_it_the_default_and_removes_it() {
    let app = test_app(1, 100).await;
    let address = publisher().await;
    let sha = |file: &str| engine::registry::sha256_file(&test_data(file)).unwrap();
    let catalogue = [
        catalogue_entry(
            "zhang-test",
            &format!("http://{address}/files/tiny_zhang_eccv16.onnx"),
            &sha("tiny_zhang_eccv16.onnx"),
            "zhang",
        ),
        catalogue_entry(
            "tampered",
            &format!("http://{address}/files/tiny_deoldify.onnx"),
            &"0".repeat(64),
            "deoldify",
        ),
    ]
    .concat();
    std::fs::write(app.dir.path().join("imported/catalogue.toml"), catalogue).unwrap();

    let before = report(&app).await;
    let entry = before["catalogue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "zhang-test")
        .unwrap()
        .clone();
    assert_eq!(entry["installed"], false);
    assert_eq!(entry["licence"], "MIT (test)");

    let (status, body) = server_fn(&app, "download_model", "name=zhang-test").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let done = wait_for_download(&app, "zhang-test").await;
    assert_eq!(done["state"], "Installed", "{done}");
    assert_eq!(
        done["done"],
        std::fs::metadata(test_data("tiny_zhang_eccv16.onnx"))
            .unwrap()
            .len()
    );
    let after = report(&app).await;
    let installed = after["installed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "zhang-test")
        .cloned()
        .expect("installed");
    assert_eq!(installed["sha256"], sha("tiny_zhang_eccv16.onnx"));
    assert_eq!(installed["licence"], "MIT (test)");

    // A file that does not match its checksum fails in the row, and is not installed.
    let (status, _) = server_fn(&app, "download_model", "name=tampered").await;
    assert_eq!(status, StatusCode::OK);
    let failed = wait_for_download(&app, "tampered").await;
    let reason = failed["state"]["Failed"].as_str().unwrap_or_default();
    assert!(reason.contains("SHA-256"), "{failed}");
    assert!(report(&app).await["installed"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["name"] != "tampered"));
    // Unknown entries are refused with a sentence.
    let (status, body) = server_fn(&app, "download_model", "name=nothing").await;
    assert!(status.is_client_error() || status.is_server_error());
    assert!(body.contains("not in the model catalogue"), "{body}");

    // The new model becomes the default; a job without a model runs on it.
    let (status, body) = server_fn(&app, "set_default_model", "name=zhang-test").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server_fn(&app, "remove_model", "name=zhang-test").await;
    assert!(!status.is_success());
    assert!(body.contains("default model"), "{body}");
    let job = submit_one(&app, &[]).await;
    assert_eq!(job["model"], "zhang-test", "{job}");
    assert_eq!(job["status"], "done", "{job}");

    // Back to the shipped one; then the downloaded model can go.
    server_fn(&app, "set_default_model", "name=tiny").await;
    let (status, body) = server_fn(&app, "remove_model", "name=zhang-test").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!app.dir.path().join("imported/zhang-test.onnx").exists());
    let (status, body) = server_fn(&app, "remove_model", "name=tiny").await;
    assert!(!status.is_success());
    assert!(body.contains("ships with Tinct"), "{body}");

    // The Admin page shows the catalogue and the installed models.
    let (_, page) = app.get("/admin").await;
    assert!(page.contains("data-testid=\"catalogue\""), "{page}");
    assert!(page.contains("Test zhang-test"));
}

#[tokio::test]
async fn only_admins_manage_models() {
    let app = test_app(1, 100).await;
    app::auth::store::add_user(&app.db, "sam", app::auth::Role::Staff, "staff-password-1")
        .await
        .unwrap();
    let cookie = app.sign_in("sam", "staff-password-1").await.unwrap();
    for (name, form) in [
        ("models_report", ""),
        ("download_model", "name=zhang-test"),
        ("set_default_model", "name=tiny"),
        ("remove_model", "name=tiny"),
    ] {
        let request = Request::post(format!("/api/{name}"))
            .header(header::HOST, "tinct.test")
            .header(header::ORIGIN, "http://tinct.test")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        let response = app.send(request).await;
        assert!(!response.status().is_success(), "{name}");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("your role does not allow this"),
            "{name}: {text}"
        );
    }
    // The shipped model is still there and still the default.
    let report = report(&app).await;
    assert!(report["installed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == "tiny" && m["is_default"] == true));
}

/// Submits the reference picture at S = 64 with extra form fields; answers the finished job.
async fn submit_one(app: &TestApp, extra: &[(&str, &str, &[u8])]) -> Value {
    let png = std::fs::read(test_data("reference_input.png")).unwrap();
    let mut fields: Vec<(&str, &str, &[u8])> = vec![("size", "", b"64")];
    fields.extend_from_slice(extra);
    fields.push(("images", "pier.png", &png));
    let (content_type, body) = multipart(&fields);
    let request = Request::post("/api/v1/jobs")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, answer) = read_json(app.send(request).await).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let id = answer["files"][0]["job_id"]
        .as_str()
        .unwrap_or_else(|| panic!("refused: {answer}"))
        .to_string();
    wait_for_job(app, &id).await
}

async fn wait_for_job(app: &TestApp, id: &str) -> Value {
    for _ in 0..300 {
        let (_, job) = app.get_json(&format!("/api/v1/jobs/{id}")).await;
        if ["done", "failed", "cancelled"].contains(&job["status"].as_str().unwrap_or("")) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not finish");
}

fn import(app: &TestApp, file: &str, name: &str) {
    let engine = support::engine(app.dir.path());
    engine
        .registry()
        .import(
            engine.runtime(),
            &test_data(file),
            name,
            engine::registry::ImportOptions::default(),
        )
        .unwrap();
}

#[tokio::test]
async fn a_model_is_chosen_per_job_through_rest_comfyui_and_try_another_model() {
    let app = test_app(1, 100).await;
    import(&app, "tiny_deoldify.onnx", "deoldify");
    import(&app, "tiny_zhang_siggraph17.onnx", "zhang");

    // REST: the installed models, then the `model` field.
    let (status, models) = app.get_json("/api/v1/models").await;
    assert_eq!(status, StatusCode::OK);
    let families: Vec<(&str, &str)> = models
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["family"].as_str().unwrap()))
        .collect();
    assert!(families.contains(&("deoldify", "DeOldify")), "{models}");
    assert!(families.contains(&("tiny", "DDColor")), "{models}");
    let first = submit_one(&app, &[("model", "", b"deoldify")]).await;
    assert_eq!(first["status"], "done", "{first}");
    assert_eq!(first["model"], "deoldify");
    let png = std::fs::read(test_data("reference_input.png")).unwrap();
    let (content_type, body) = multipart(&[
        ("model", "", b"no-such-model"),
        ("images", "pier.png", &png),
    ]);
    let request = Request::post("/api/v1/jobs")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (_, refused) = read_json(app.send(request).await).await;
    assert_eq!(refused["files"][0]["accepted"], false, "{refused}");
    assert!(
        refused["files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no-such-model"),
        "{refused}"
    );

    // "Try another model": the same photo again with another model and size, as a new version.
    let id = first["id"].as_str().unwrap();
    let (status, body) = server_fn(
        &app,
        "rerun_job",
        &format!("id={id}&preset=portrait&model=zhang&size=96"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_id: String = serde_json::from_str(&body).unwrap();
    let second = wait_for_job(&app, &new_id).await;
    assert_eq!(second["status"], "done", "{second}");
    assert_eq!(second["model"], "zhang");
    assert_eq!(second["input_size"], 96);
    assert_eq!(second["batch_id"], first["batch_id"]);
    let (_, versions) = app.get_json(&format!("/api/v1/jobs/{id}/versions")).await;
    let models: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["model"].as_str().unwrap())
        .collect();
    assert!(
        models.contains(&"deoldify") && models.contains(&"zhang"),
        "{versions}"
    );
    let (status, body) = server_fn(
        &app,
        "rerun_job",
        &format!("id={id}&preset=portrait&model=zhang&size=abc"),
    )
    .await;
    assert!(!status.is_success());
    assert!(body.contains("whole number"), "{body}");

    // ComfyUI: the checkpoint names an installed model.
    let (content_type, body) =
        multipart(&[("image", "pier.png", &png), ("overwrite", "", b"true")]);
    let request = Request::post("/upload/image")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, uploaded) = read_json(app.send(request).await).await;
    assert_eq!(status, StatusCode::OK, "{uploaded}");
    let graph = json!({
        "1": {"class_type": "LoadImage", "inputs": {"image": uploaded["name"]}},
        "2": {"class_type": "DDColor_Colorize", "inputs": {
            "image": ["1", 0], "model_input_size": 64, "checkpoint": "zhang.onnx"}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "t"}}
    });
    let request = Request::post("/prompt")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "prompt": graph }).to_string()))
        .unwrap();
    let (status, queued) = read_json(app.send(request).await).await;
    assert_eq!(status, StatusCode::OK, "{queued}");
    let (_, jobs) = app.get_json("/api/v1/jobs?limit=50").await;
    let comfy = jobs.as_array().unwrap().iter().find(|j| {
        j["original_name"] == "pier.png" && j["input_size"] == 64 && j["model"] == "zhang"
    });
    assert!(comfy.is_some(), "no ComfyUI job on zhang: {jobs}");
}

#[tokio::test]
async fn an_int8_variant_is_listed_with_its_parent_and_chosen_per_job() {
    let app = test_app(1, 100).await;
    let engine = support::engine(app.dir.path());
    engine
        .registry()
        .import(
            engine.runtime(),
            &test_data("tiny_ddcolor_int8.onnx"),
            "tiny-int8",
            engine::registry::ImportOptions {
                variant_of: Some(engine::registry::VariantOf {
                    parent: "tiny".into(),
                    method: "int8 static QDQ, per-channel weights, MinMax".into(),
                    calibration: "2 test scans at S = 64".into(),
                }),
                ..Default::default()
            },
        )
        .unwrap();
    let parent_sha256 = engine.registry().get("tiny").unwrap().manifest.sha256;

    // The API and the Admin page say what it was made from.
    let (status, models) = app.get_json("/api/v1/models").await;
    assert_eq!(status, StatusCode::OK);
    let variant = models
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "tiny-int8")
        .unwrap_or_else(|| panic!("{models}"));
    assert_eq!(variant["variant"]["parent"], "tiny");
    assert_eq!(variant["variant"]["parent_sha256"], parent_sha256.as_str());
    assert_eq!(variant["label"], "Tiny test model, int8");
    let (_, page) = app.get("/admin").await;
    assert!(page.contains("variant of "), "{page}");
    assert!(page.contains("2 test scans at S = 64"), "{page}");

    // A person chooses it for a job like any other model.
    let done = submit_one(&app, &[("model", "", b"tiny-int8")]).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["model"], "tiny-int8");
}
