//! A V4L2 USB camera through nokhwa 0.10 (cargo feature `camera`; Linux only).
//!
//! `nokhwa::Camera` is not `Send`, so the camera lives on a small worker thread owned by
//! [`V4l2Camera`]; open/grab/close are requests over a channel. The stream stays open between
//! shots (no per-shot device open, format negotiation or auto-exposure settling, which is what
//! makes `fswebcam -S 60 -D 2` shots seconds late). V4L2 keeps a few buffers filled while
//! nobody reads, so the first `discard` frames of a grab are stale and dropped.
//!
//! # Troubleshooting
//!
//! - `cannot open camera /dev/video0: ... Permission denied`: add the service user to the
//!   `video` group (the shipped udev rule does this for known cameras).
//! - `... Device or resource busy`: another program (a leftover fswebcam, motion) holds it.
//! - The camera delivers a different resolution than configured: nokhwa picks the closest
//!   mode the camera offers; `FrameCaptured` records the real size.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
};
use nokhwa::Camera;
use vigil_events::UtcMicros;

use super::source::{Frame, FrameSource, SourceError};

enum Request {
    Open(Sender<Result<(), SourceError>>),
    Grab(Sender<Result<Frame, SourceError>>),
    Close,
}

/// A V4L2 camera. See the module docs.
#[derive(Debug)]
pub struct V4l2Camera {
    device: String,
    open: bool,
    requests: Option<Sender<Request>>,
    worker: Option<JoinHandle<()>>,
}

fn worker(index: u32, width: u32, height: u32, discard: u32, rx: Receiver<Request>) {
    let device = format!("/dev/video{index}");
    let mut camera: Option<Camera> = None;
    for req in rx {
        match req {
            Request::Open(reply) => {
                let wanted =
                    CameraFormat::new(Resolution::new(width, height), FrameFormat::MJPEG, 30);
                let format =
                    RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(wanted));
                let result = Camera::new(CameraIndex::Index(index), format)
                    .and_then(|mut cam| cam.open_stream().map(|()| cam))
                    .map(|cam| camera = Some(cam))
                    .map_err(|e| SourceError::Open {
                        device: device.clone(),
                        detail: e.to_string(),
                    });
                let _ = reply.send(result);
            }
            Request::Grab(reply) => {
                let result = match camera.as_mut() {
                    None => Err(SourceError::Grab {
                        device: device.clone(),
                        detail: "stream not open".to_string(),
                    }),
                    Some(cam) => grab(cam, discard).map_err(|detail| SourceError::Grab {
                        device: device.clone(),
                        detail,
                    }),
                };
                if result.is_err() {
                    if let Some(mut cam) = camera.take() {
                        let _ = cam.stop_stream();
                    }
                }
                let _ = reply.send(result);
            }
            Request::Close => {
                if let Some(mut cam) = camera.take() {
                    let _ = cam.stop_stream();
                }
            }
        }
    }
    if let Some(mut cam) = camera.take() {
        let _ = cam.stop_stream();
    }
}

fn grab(cam: &mut Camera, discard: u32) -> Result<Frame, String> {
    for _ in 0..discard {
        cam.frame().map_err(|e| e.to_string())?;
    }
    let buffer = cam.frame().map_err(|e| e.to_string())?;
    let image = buffer
        .decode_image::<RgbFormat>()
        .map_err(|e| e.to_string())?;
    let (w, h) = (image.width(), image.height());
    Frame::new(w, h, image.into_raw()).map_err(|e| e.to_string())
}

impl V4l2Camera {
    /// A camera at `device` (`/dev/videoN` or a symlink to it) asking for `width`×`height`
    /// MJPEG at 30 fps, dropping `discard` stale frames before each shot. Nothing is opened
    /// yet.
    pub fn new(device: &Path, width: u32, height: u32, discard: u32) -> Result<Self, SourceError> {
        let resolved = std::fs::canonicalize(device).unwrap_or_else(|_| device.to_path_buf());
        let index: u32 = resolved
            .to_str()
            .and_then(|s| s.strip_prefix("/dev/video"))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                SourceError::Settings(format!(
                    "camera device {} is not /dev/videoN (nor a link to one)",
                    device.display()
                ))
            })?;
        if width == 0 || height == 0 {
            return Err(SourceError::Settings(format!(
                "resolution {width}x{height} has a zero side"
            )));
        }
        let (tx, rx) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name(format!("camera-video{index}"))
            .spawn(move || worker(index, width, height, discard, rx))
            .map_err(|e| SourceError::Open {
                device: format!("/dev/video{index}"),
                detail: format!("cannot start the camera thread: {e}"),
            })?;
        Ok(V4l2Camera {
            device: format!("/dev/video{index}"),
            open: false,
            requests: Some(tx),
            worker: Some(worker),
        })
    }

    fn gone(&self) -> String {
        "camera thread stopped".to_string()
    }
}

impl FrameSource for V4l2Camera {
    fn describe(&self) -> String {
        self.device.clone()
    }

    fn open(&mut self, _at: UtcMicros) -> Result<(), SourceError> {
        let (reply, answer) = mpsc::channel();
        let err = || SourceError::Open {
            device: self.device.clone(),
            detail: self.gone(),
        };
        let tx = self.requests.as_ref().ok_or_else(err)?;
        tx.send(Request::Open(reply)).map_err(|_| err())?;
        answer.recv().map_err(|_| err())??;
        self.open = true;
        Ok(())
    }

    fn is_open(&self) -> bool {
        self.open
    }

    fn grab(&mut self, _at: UtcMicros) -> Result<Frame, SourceError> {
        let (reply, answer) = mpsc::channel();
        let err = || SourceError::Grab {
            device: self.device.clone(),
            detail: self.gone(),
        };
        let tx = self.requests.as_ref().ok_or_else(err)?;
        tx.send(Request::Grab(reply)).map_err(|_| err())?;
        let result = answer.recv().map_err(|_| err())?;
        if result.is_err() {
            self.open = false;
        }
        result
    }

    fn close(&mut self) {
        if let Some(tx) = &self.requests {
            let _ = tx.send(Request::Close);
        }
        self.open = false;
    }
}

impl Drop for V4l2Camera {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}
