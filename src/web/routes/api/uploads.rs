//! `POST /api/v1/uploads` (the file as the raw body, or multipart field
//! `file`) and `GET /api/v1/uploads/{id}`.

use actix_web::http::header::{self, ContentDisposition, Header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::auth;
use super::error::{ApiError, ApiErrorCode};
use crate::app::uploads::stage::{self, Received, StageError};
use crate::app::uploads::{self, Format, Outcome, StagedFile, UploadContext, UploadReport};
use crate::db::assessors::AssessorOrg;
use crate::db::uploads::{self as records, NewUpload};
use crate::web::state::AppState;

/// Longest text field of a multipart upload form (the CSRF token).
const TEXT_FIELD_MAX: usize = 4096;

#[derive(Deserialize)]
pub struct UploadQuery {
    filename: Option<String>,
}

/// A received upload, before validation.
pub struct Incoming {
    pub received: Received,
    pub format: Format,
    pub file_name: Option<String>,
    pub charset: Option<String>,
}

/// Why a request carried no usable file.
pub enum Refusal {
    TooLarge {
        limit: u64,
    },
    Unsupported {
        message: String,
        file_name: Option<String>,
    },
    NoFile,
    Interrupted(String),
    Internal(anyhow::Error),
}

impl From<StageError> for Refusal {
    fn from(e: StageError) -> Refusal {
        match e {
            StageError::TooLarge { limit } => Refusal::TooLarge { limit },
            StageError::Interrupted(m) => Refusal::Interrupted(m),
            StageError::Io(e) => Refusal::Internal(e),
        }
    }
}

fn charset_of(content_type: Option<&str>) -> Option<String> {
    content_type?
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
}

/// Receives the file of a request, raw or multipart, plus the multipart
/// form's text fields.
pub async fn receive(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    query_file_name: Option<String>,
) -> Result<(Incoming, Vec<(String, String)>), Refusal> {
    let limit = state.settings.upload_limit_bytes;
    let dir = stage::staging_dir(&state.settings.data_dir);
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // A declared length over the limit is refused before reading a byte.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit.saturating_add(64 * 1024)) {
        return Err(Refusal::TooLarge { limit });
    }
    let is_multipart = content_type.as_deref().is_some_and(|t| {
        t.trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/form-data")
    });
    if !is_multipart {
        let file_name = query_file_name.or_else(|| {
            ContentDisposition::parse(req)
                .ok()
                .and_then(|cd| cd.get_filename().map(str::to_owned))
        });
        let format =
            Format::detect(content_type.as_deref(), file_name.as_deref()).map_err(|message| {
                Refusal::Unsupported {
                    message,
                    file_name: file_name.clone(),
                }
            })?;
        let received = stage::receive(&dir, limit, payload).await?;
        return Ok((
            Incoming {
                received,
                format,
                file_name,
                charset: charset_of(content_type.as_deref()),
            },
            Vec::new(),
        ));
    }

    let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
    let mut fields = Vec::new();
    let mut incoming = None;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| Refusal::Interrupted(e.to_string()))?;
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" && incoming.is_none() {
            let file_name = field
                .content_disposition()
                .and_then(|cd| cd.get_filename())
                .map(str::to_owned)
                .filter(|n| !n.is_empty());
            let field_type = field.content_type().map(|m| m.to_string());
            // Browsers send a generic type for unknown extensions; the file
            // name decides then.
            let format = Format::detect(field_type.as_deref(), file_name.as_deref())
                .or_else(|_| Format::detect(None, file_name.as_deref()))
                .map_err(|message| Refusal::Unsupported {
                    message,
                    file_name: file_name.clone(),
                })?;
            let received = stage::receive(&dir, limit, &mut field).await?;
            incoming = Some(Incoming {
                received,
                format,
                file_name,
                charset: charset_of(field_type.as_deref()),
            });
        } else {
            let mut value = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|e| Refusal::Interrupted(e.to_string()))?;
                if value.len() + chunk.len() > TEXT_FIELD_MAX {
                    return Err(Refusal::Interrupted(format!("field '{name}' is too long")));
                }
                value.extend_from_slice(&chunk);
            }
            fields.push((name, String::from_utf8_lossy(&value).into_owned()));
        }
    }
    match incoming {
        Some(i) if i.received.size > 0 => Ok((i, fields)),
        _ => Err(Refusal::NoFile),
    }
}

/// Records a refused request's upload (so every attempt is on record).
pub async fn record_refusal(
    state: &AppState,
    org: &AssessorOrg,
    refusal: &Refusal,
) -> anyhow::Result<Option<i64>> {
    let (status, file_name, message) = match refusal {
        Refusal::TooLarge { limit } => (
            "too_large",
            None,
            format!(
                "The upload is larger than the limit of {}",
                stage::describe_limit(*limit)
            ),
        ),
        Refusal::Unsupported { message, file_name } => {
            ("unsupported", file_name.as_deref(), message.clone())
        }
        _ => return Ok(None),
    };
    let report = serde_json::to_string(&[uploads::RowError {
        row: None,
        column: None,
        code: if status == "too_large" {
            "payload_too_large".into()
        } else {
            "unsupported_format".into()
        },
        message,
    }])?;
    records::record(
        &state.db,
        NewUpload {
            org_id: org.id,
            file_hash: None,
            file_name,
            format: "unknown",
            status,
            total_rows: 0,
            stored_rows: 0,
            error_count: 1,
            report: Some(report),
            created_at: Utc::now(),
        },
    )
    .await
    .map(Some)
}

/// Validates and stores a received file.
pub async fn process(
    state: &AppState,
    org: &AssessorOrg,
    incoming: &Incoming,
) -> anyhow::Result<Outcome> {
    let ctx = UploadContext {
        db: &state.db,
        keys: &state.keys,
        catalog: state.catalog.get(),
        settings: &state.settings,
    };
    let file = StagedFile {
        path: incoming.received.file.path().to_path_buf(),
        sha256: incoming.received.sha256.clone(),
        size: incoming.received.size,
        format: incoming.format,
        file_name: incoming.file_name.clone(),
        charset: incoming.charset.clone(),
    };
    let outcome = uploads::process(&ctx, org, &file).await;
    if let Err(e) = &outcome {
        // Keep the attempt on record even when it failed inside.
        let _ = records::record(
            &state.db,
            NewUpload {
                org_id: org.id,
                file_hash: Some(&file.sha256),
                file_name: file.file_name.as_deref(),
                format: file.format.as_str(),
                status: "failed",
                total_rows: 0,
                stored_rows: 0,
                error_count: 0,
                report: None,
                created_at: Utc::now(),
            },
        )
        .await;
        tracing::error!(error = ?e, "Upload failed");
    }
    outcome
}

#[derive(Serialize)]
struct Answer<'a> {
    #[serde(flatten)]
    report: &'a UploadReport,
    /// True when this is the answer to an earlier upload of the same file.
    replayed: bool,
}

/// `POST /api/v1/uploads`: 201 with the counts; 200 with the first result
/// for a file stored before; 422 with every row error and nothing stored.
#[tracing::instrument(name = "api upload", skip_all)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let org = auth::assessor(&state, &req).await?;
    let (incoming, _) = match receive(&state, &req, payload, query.into_inner().filename).await {
        Ok(i) => i,
        Err(refusal) => {
            record_refusal(&state, &org, &refusal).await?;
            return Err(match refusal {
                Refusal::TooLarge { limit } => ApiError::TooLarge { limit },
                Refusal::Unsupported { message, .. } => ApiError::UnsupportedMediaType {
                    code: ApiErrorCode::UnsupportedFormat,
                    message,
                },
                Refusal::NoFile => ApiError::BadRequest {
                    code: ApiErrorCode::NoFile,
                    message: "The request has no file (send it as the body, or as multipart field 'file')".into(),
                },
                Refusal::Interrupted(m) => ApiError::BadRequest {
                    code: ApiErrorCode::UploadInterrupted,
                    message: format!("The upload could not be read: {m}"),
                },
                Refusal::Internal(e) => ApiError::Internal(e),
            });
        }
    };
    match process(&state, &org, &incoming).await? {
        Outcome::Stored(report) => Ok(HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/api/v1/uploads/{}", report.id)))
            .json(Answer {
                report: &report,
                replayed: false,
            })),
        Outcome::Replayed(report) => Ok(HttpResponse::Ok()
            .insert_header((header::LOCATION, format!("/api/v1/uploads/{}", report.id)))
            .json(Answer {
                report: &report,
                replayed: true,
            })),
        Outcome::Invalid(report) => Err(ApiError::InvalidFile(Box::new(report))),
        Outcome::Conflict => Err(ApiError::Conflict {
            code: ApiErrorCode::ConcurrentUpload,
            message: "Another upload stored some of the same respondents meanwhile; nothing of this file was stored. Upload it again to see which rows.".into(),
        }),
    }
}

/// `GET /api/v1/uploads/{id}`: an upload of the caller's organisation.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let org = auth::assessor(&state, &req).await?;
    let record = records::get(&state.db, org.id, id.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header(crate::web::respond::NO_STORE)
        .json(UploadReport::from_record(record)))
}
