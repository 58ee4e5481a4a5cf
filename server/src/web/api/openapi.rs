//! The OpenAPI description of the native API, generated from the handlers' annotations and
//! served at `/api/v1/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{bulk, events, files, jobs, models, submit, versions};
use crate::web::error::ErrorBody;
use crate::web::zip_download;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tinct API",
        description = "Colorize black-and-white archive photographs: submit images, follow their jobs, \
                       fetch the results. Every result is an AI-assisted colorization. Authenticate with \
                       `Authorization: Bearer <token>` (a personal API token from the Account page or \
                       `tinct token create`)."
    ),
    paths(
        submit::submit,
        jobs::list_jobs,
        jobs::get_job,
        jobs::cancel_job,
        jobs::retry_job,
        files::job_result,
        files::job_original,
        files::job_thumbnail,
        files::job_preview,
        zip_download::download,
        events::events,
        versions::create_version,
        versions::list_versions,
        versions::review,
        versions::choose,
        versions::correction_preview,
        versions::review_many,
        bulk::bulk,
        models::list_models,
    ),
    components(schemas(app::models::InstalledModel, app::jobs::JobRow, app::jobs::JobStatus, app::jobs::ReviewState, versions::NewVersion, versions::CorrectionBody, versions::ReviewBody, submit::SubmitResponse, submit::FileOutcome, app::jobs::Duplicate, bulk::BulkOutcome, bulk::BulkRefusal, submit::SubmitForm, ErrorBody)),
    modifiers(&BearerToken),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// `GET /api/v1/openapi.json`
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
