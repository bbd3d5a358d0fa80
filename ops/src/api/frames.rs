//! `GET /v1/frames/{seq}`: the camera frame (`FrameCaptured`) or timelapse video
//! (`TimelapseBuilt`) that the event at `seq` lists, read from the data directory.
//!
//! Only the file the log names is served, and only from under its own directory (`frames/`
//! for stills, `videos/` for videos): the path from the event must be relative with plain
//! components, and once every symlink is resolved it must still lie under that directory, so
//! neither an altered log, a `..`, nor a symlink out of the directory reaches another file.
//! The seq comes from the URL and is only ever parsed as a number: `..`, `%2e%2e%2f` or any
//! other text is refused with 400. The thermal frames need no file: `ThermalFrame` events
//! carry the 768 readings (`/v1/events?kind=ThermalFrame&order=newest&limit=1`).
//!
//! The answer carries the event's BLAKE3 of the file in `x-vigil-blake3` (a client can check
//! that what it got is what was recorded) and is streamed in chunks, never held whole.

use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use vigil_actors::supervisor::Running;
use vigil_events::Event;

use super::error::ApiError;

/// Bytes read from the file per chunk of the answer.
const CHUNK: usize = 64 * 1024;

/// Register `GET /v1/frames/{seq}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/frames/{seq}")
            .route(web::get().to(frame))
            .default_service(web::to(super::method_not_allowed)),
    );
}

/// The file an event lists: its path relative to the data directory, the directory it must
/// stay under, the recorded hash.
#[derive(Debug, PartialEq)]
pub struct Listed {
    /// Path relative to the data directory, as recorded.
    pub path: String,
    /// `frames` or `videos`.
    pub root: &'static str,
    /// BLAKE3 hex recorded with it (empty for videos, which record none).
    pub blake3: String,
}

/// What a frame event lists, or `None` for any other event.
pub fn listed(payload: &Event) -> Option<Listed> {
    match payload {
        Event::FrameCaptured(f) => Some(Listed {
            path: f.path.clone(),
            root: "frames",
            blake3: f.blake3.clone(),
        }),
        Event::TimelapseBuilt(t) => Some(Listed {
            path: t.path.clone(),
            root: "videos",
            blake3: String::new(),
        }),
        _ => None,
    }
}

/// Resolve `rel` under `data_dir/root`, refusing anything that would leave that directory:
/// an absolute path, `..`, a path outside `root`, or a symlink pointing out of it.
pub fn resolve(data_dir: &Path, root: &str, rel: &str, seq: u64) -> Result<PathBuf, ApiError> {
    let refuse = |why: &str| ApiError::OutsideFrames(format!("frame of seq {seq}: {why}"));
    let rel_path = Path::new(rel);
    let plain = rel_path
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if !plain || rel.is_empty() {
        return Err(refuse("the recorded path is not a plain relative path"));
    }
    if rel_path.components().next() != Some(Component::Normal(root.as_ref())) {
        return Err(refuse(&format!("the recorded path is not under {root}/")));
    }
    let base = data_dir.join(root).canonicalize().map_err(|e| {
        ApiError::NotFound(format!("frame of seq {seq}: the {root} directory: {e}"))
    })?;
    let file = data_dir
        .join(rel_path)
        .canonicalize()
        .map_err(|e| ApiError::NotFound(format!("frame of seq {seq}: {rel}: {e}")))?;
    if !file.starts_with(&base) {
        return Err(refuse(&format!("{rel} leads out of the {root} directory")));
    }
    Ok(file)
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("ppm") => "image/x-portable-pixmap",
        Some("mp4") => "video/mp4",
        Some("webm") => "video/webm",
        _ => "application/octet-stream",
    }
}

async fn frame(req: HttpRequest, run: web::Data<Running>) -> Result<HttpResponse, ApiError> {
    let raw = req.match_info().get("seq").unwrap_or_default();
    let seq: u64 = raw.parse().map_err(|_| {
        ApiError::BadParam(format!(
            "seq: `{}` is not a seq",
            raw.chars().take(64).collect::<String>()
        ))
    })?;
    let store = run.store.clone();
    let env = web::block(move || store.get(seq))
        .await
        .map_err(|e| ApiError::Internal(format!("the read did not run: {e}")))?
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .ok_or_else(|| ApiError::NotFound(format!("seq {seq}: no such event")))?;
    let Some(item) = listed(&env.payload) else {
        return Err(ApiError::NotFound(format!(
            "seq {seq} is a {}, not a FrameCaptured or TimelapseBuilt event",
            env.kind.name()
        )));
    };
    // The log lives in `DATA/log`; frames and videos beside it.
    let data_dir = run
        .store
        .dir()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = resolve(&data_dir, item.root, &item.path, seq)?;
    let file = File::open(&path)
        .map_err(|e| ApiError::NotFound(format!("frame of seq {seq}: {}: {e}", item.path)))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let body = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let chunk = web::block(move || {
            let mut buf = vec![0; CHUNK];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((buf, file))
        })
        .await;
        match chunk {
            Ok(Ok((buf, _))) if buf.is_empty() => None,
            Ok(Ok((buf, file))) => Some((Ok(Bytes::from(buf)), Some(file))),
            Ok(Err(e)) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type(content_type(&path))
        .insert_header(("cache-control", "private, max-age=86400, immutable"))
        .insert_header(("x-vigil-seq", seq.to_string()))
        .insert_header(("x-vigil-blake3", item.blake3))
        .no_chunking(len)
        .streaming(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_under_their_directory_resolve() {
        let tmp = tempfile::tempdir().expect("tmp");
        let data = tmp.path().join("data");
        std::fs::create_dir_all(data.join("frames/2026/06/01")).expect("dirs");
        std::fs::write(data.join("frames/2026/06/01/040000.jpg"), b"jpg").expect("frame");
        std::fs::write(tmp.path().join("secret"), b"no").expect("secret");
        std::fs::write(data.join("station.toml"), b"no").expect("config");
        std::os::unix::fs::symlink(tmp.path().join("secret"), data.join("frames/out.jpg"))
            .expect("symlink");

        let ok = resolve(&data, "frames", "frames/2026/06/01/040000.jpg", 7).expect("served");
        assert!(ok.ends_with("040000.jpg"));
        for bad in [
            "frames/../station.toml",
            "../secret",
            "/etc/passwd",
            "station.toml",
            "frames/out.jpg",
            "",
        ] {
            let err = resolve(&data, "frames", bad, 7).expect_err(bad);
            assert!(matches!(err, ApiError::OutsideFrames(_)), "{bad}: {err:?}");
            assert!(err.to_string().contains("seq 7"), "{bad}: {err}");
        }
        assert!(matches!(
            resolve(&data, "frames", "frames/missing.jpg", 7),
            Err(ApiError::NotFound(_))
        ));
    }
}
