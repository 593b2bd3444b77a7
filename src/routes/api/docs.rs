//! The OpenAPI description (`/api/docs/openapi.json`) and Swagger UI
//! (`/api/docs/`, served from the binary).

use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ResponseBuilder, ResponsesBuilder};
use utoipa::{Modify, OpenApi};

use super::{indicators, publish};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pingyi API",
        description = "Published satisfaction indicators for the main scoring model, publishing, and assessor uploads. \
Figures follow the indicator spec; every snapshot names its model version and input hash.",
    ),
    paths(
        indicators::indicators,
        indicators::list,
        indicators::show,
        indicators::export,
        indicators::model,
        publish::publish,
        publish::reopen,
    ),
    components(schemas(
        indicators::SnapshotMeta,
        indicators::InputRows,
        indicators::TableJson,
        indicators::Format,
        crate::scores::Table,
        publish::PublishResponse,
        publish::ReopenRequest,
    )),
    modifiers(&Security, &UploadPaths),
    tags(
        (name = "scores", description = "Published figures (read-only tokens, administrators, analysts)"),
        (name = "publishing", description = "Publishing and reopening periods (administrators)"),
        (name = "uploads", description = "Third-party assessor uploads (assessor tokens)"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "An office session (sign in at /office/login); requests that change something also send X-CSRF-Token",
            ))),
        );
    }
}

/// The assessor upload endpoints (their handlers live in `uploads.rs`),
/// described here so the whole API is in one document.
struct UploadPaths;

impl Modify for UploadPaths {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let response = |d: &str| ResponseBuilder::new().description(d).build();
        let create = OperationBuilder::new()
            .tag("uploads")
            .summary(Some("Upload survey results (CSV, XLSX or JSON)"))
            .description(Some(
                "Bearer assessor token. 201 with counts, or 422 with row-level errors and nothing stored.",
            ))
            .responses(
                ResponsesBuilder::new()
                    .response("201", response("Stored, with counts"))
                    .response("401", response("No valid assessor token"))
                    .response("409", response("Conflict, e.g. a frozen period"))
                    .response("413", response("Too large"))
                    .response("422", response("Row-level errors; nothing stored"))
                    .build(),
            )
            .build();
        let id = utoipa::openapi::path::ParameterBuilder::new()
            .name("id")
            .parameter_in(utoipa::openapi::path::ParameterIn::Path)
            .required(utoipa::openapi::Required::True)
            .description(Some("The upload's id, as returned when it was created"))
            .schema(Some(
                utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Integer),
            ))
            .build();
        let show = OperationBuilder::new()
            .tag("uploads")
            .summary(Some("An upload's status and report"))
            .parameter(id)
            .responses(
                ResponsesBuilder::new()
                    .response("200", response("The upload's report"))
                    .response("401", response("No valid assessor token"))
                    .response("404", response("Not this organisation's upload"))
                    .build(),
            )
            .build();
        openapi
            .paths
            .add_path_operation("/api/v1/uploads", vec![HttpMethod::Post], create);
        openapi
            .paths
            .add_path_operation("/api/v1/uploads/{id}", vec![HttpMethod::Get], show);
    }
}
