//! The OpenAPI description (`/api/docs/openapi.json`) and Swagger UI
//! (`/api/docs/`, served from the binary).

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::{RequestBody, RequestBodyBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ArrayBuilder, ContentBuilder, KnownFormat, ObjectBuilder, Required, ResponseBuilder,
    ResponsesBuilder, SchemaFormat, Type,
};
use utoipa::{Modify, OpenApi};

use super::{indicators, publish};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pingyi API",
        description = "Published satisfaction indicators for the main scoring model, publishing, and assessor uploads. \
Figures follow the indicator spec; every snapshot names its model version and input hash. \
Each snapshot also keeps the rating-integrity review of its period (`table=integrity`, per the integrity spec): \
it flags patterns for the office to review and never changes an index or a score.",
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
        crate::app::figures::Table,
        publish::PublishResponse,
        publish::ReopenRequest,
        super::error::ApiErrorCode,
        super::error::ApiErrorBody,
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
                crate::domain::office::SESSION_COOKIE,
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
                "Bearer assessor token. The file is the raw body (its format from the Content-Type, \
or from the name in `filename` or Content-Disposition when the type is generic) or the multipart \
field `file`. 201 with counts, or 422 with row-level or file-level errors (`unsupported_encoding`, \
`xlsx_too_large`, `xlsx_malformed`, ...) and nothing stored.",
            ))
            .parameter(
                ParameterBuilder::new()
                    .name("filename")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(
                        "The file's name, which tells its format when the Content-Type is generic",
                    ))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            )
            .request_body(Some(upload_body()))
            .responses(
                ResponsesBuilder::new()
                    .response("200", response("The same file was stored before: its first result"))
                    .response("201", response("Stored, with counts"))
                    .response("400", response("No file, or an interrupted upload"))
                    .response("401", response("No valid assessor token"))
                    .response("409", response("Another upload stored some of the same respondents meanwhile"))
                    .response("413", response("Too large"))
                    .response("415", response("Not CSV, XLSX or JSON"))
                    .response("422", response("Row-level or file-level errors; nothing stored"))
                    .build(),
            )
            .build();
        let id = ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("The upload's id, as returned when it was created"))
            .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
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

/// The bodies `POST /api/v1/uploads` accepts, so that clients (and
/// schemathesis, which fuzzes the API from this document) send real files.
fn upload_body() -> RequestBody {
    let binary = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
    };
    let content = |schema: ObjectBuilder, example: Option<serde_json::Value>| {
        ContentBuilder::new()
            .schema(Some(schema))
            .example(example)
            .build()
    };
    let csv_example = "respondent_ref,institution_code,period,interviewed_at,channel,att1,att2,eff1,eff2,env1,tra1,out1,out2,comment\r\n\
R-1,water-01,2025-10,2025-10-05 10:30,phone,5,4,3,,5,4,5,2,\r\n";
    let multipart = ObjectBuilder::new()
        .property(
            "file",
            binary().description(Some(
                "The file: CSV (UTF-8 or GBK/GB18030), XLSX, or JSON (an array of objects); its part's Content-Type or file name tells which",
            )),
        )
        .required("file");
    let json_rows = ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .additional_properties(Some(ObjectBuilder::new()))
                .description(Some("One response: column name to value")),
        )
        .build();
    RequestBodyBuilder::new()
        .description(Some(
            "The file, raw or as multipart field `file`. Without a charset, a CSV's encoding is detected; only UTF-8 and GBK/GB18030 are accepted.",
        ))
        .required(Some(Required::True))
        .content("multipart/form-data", content(multipart, None))
        .content(
            "text/csv",
            content(
                ObjectBuilder::new().schema_type(Type::String),
                Some(serde_json::Value::from(csv_example)),
            ),
        )
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(json_rows)).build(),
        )
        .content(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            content(binary(), None),
        )
        .content("application/octet-stream", content(binary(), None))
        .build()
}
