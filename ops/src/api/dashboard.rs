//! `GET /`: the dashboard, static HTML, CSS and JavaScript compiled into the binary (no build
//! step, nothing fetched from elsewhere). The page reads only the API: `/v1/status`,
//! `/v1/events` (initial state and the audit view), `/v1/events/stream` (live updates) and
//! `/v1/frames/{seq}` (camera frames). With a token (kept in the tab's sessionStorage) it
//! sends `Authorization: Bearer …` on every request, and shows its login form whenever a
//! request is answered 401 or 403. What each panel shows: `docs/dashboard.md`.

use actix_web::{web, HttpResponse};

/// The page.
pub const INDEX_HTML: &str = include_str!("dashboard/index.html");
/// Its style sheet.
pub const DASHBOARD_CSS: &str = include_str!("dashboard/dashboard.css");
/// Its script.
pub const DASHBOARD_JS: &str = include_str!("dashboard/dashboard.js");

/// Content-Security-Policy of the page: everything from this server, nothing else.
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; \
                   style-src 'self'; script-src 'self'; connect-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Register `GET /` and the page's files.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let file = |body: &'static str, mime: &'static str| {
        web::get().to(move || async move {
            HttpResponse::Ok()
                .content_type(mime)
                .insert_header(("content-security-policy", CSP))
                .insert_header(("x-content-type-options", "nosniff"))
                .insert_header(("cache-control", "no-cache"))
                .body(body)
        })
    };
    for (path, body, mime) in [
        ("/", INDEX_HTML, "text/html; charset=utf-8"),
        ("/dashboard.css", DASHBOARD_CSS, "text/css; charset=utf-8"),
        (
            "/dashboard.js",
            DASHBOARD_JS,
            "text/javascript; charset=utf-8",
        ),
    ] {
        cfg.service(
            web::resource(path)
                .route(file(body, mime))
                .default_service(web::to(super::method_not_allowed)),
        );
    }
}
