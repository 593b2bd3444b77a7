//! Error pages in the reader's language. `ResponseError::error_response`
//! has no request, so error types answer with a plain-text stand-in; this
//! middleware, which knows the request, renders the page in the language the
//! reader chose or their browser asks for, with a language switch that
//! returns to the failing page.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};

use crate::web::error::PageError;
use crate::web::routes::office::error::OfficeError;
use crate::web::state::AppState;

pub async fn localise_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, Error> {
    let res = next.call(req).await?;
    // Error types answer with a plain-text stand-in; the page is rendered
    // here, once, in the reader's language. The language and path are read
    // only for an error: most responses are not one.
    let failed = res.response().error();
    let state = failed.and_then(|_| res.request().app_data::<web::Data<AppState>>());
    let page = match (state, failed) {
        (Some(state), Some(e)) => {
            let (lang, path) = (state.lang(res.request()), res.request().path());
            if let Some(e) = e.as_error::<PageError>() {
                Some(e.render(&state.templates, lang, path))
            } else {
                e.as_error::<OfficeError>()
                    .filter(|e| !matches!(e, OfficeError::Login(_)))
                    .map(|e| e.render(&state.templates, lang, path))
            }
        }
        _ => None,
    };
    let mut res = match page {
        Some(page) => {
            let mut res = res
                .map_body(|_, _| BoxBody::new(page))
                .map_into_right_body();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            res
        }
        None => res.map_into_left_body(),
    };
    if is_html(&res) {
        // Pages differ by the language cookie and Accept-Language.
        res.headers_mut().insert(
            header::VARY,
            HeaderValue::from_static("Accept-Language, Cookie"),
        );
    }
    Ok(res)
}

fn is_html<B>(res: &ServiceResponse<B>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}
