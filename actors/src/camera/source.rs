//! The frame-source trait every camera backend implements, and the frame it returns.
//!
//! A source is opened once and kept open ("warm") between shots: the performer calls
//! [`FrameSource::open`] only when the source is closed (at the first shot, or after a fault).
//! Backends: [`crate::camera::synthetic::SyntheticCamera`] (default, deterministic) and
//! `crate::camera::v4l2::V4l2Camera` (nokhwa, behind the cargo feature `camera`).

use vigil_events::UtcMicros;

/// One uncompressed frame: 8-bit RGB, row-major, `width * height * 3` bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) rgb: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.rgb.len())
            .finish()
    }
}

impl Frame {
    /// A frame from raw RGB bytes; refused when the length does not match the size or a side
    /// is zero.
    pub fn new(width: u32, height: u32, rgb: Vec<u8>) -> Result<Self, SourceError> {
        let expected = u64::from(width) * u64::from(height) * 3;
        if width == 0 || height == 0 || rgb.len() as u64 != expected {
            return Err(SourceError::BadFrame {
                width,
                height,
                bytes: rgb.len(),
            });
        }
        Ok(Frame { width, height, rgb })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The RGB bytes, row-major.
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// The pixel at (`x`, `y`), if inside the frame.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = ((y as usize) * (self.width as usize) + x as usize) * 3;
        Some([self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]])
    }
}

/// Why a source could not deliver a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The device could not be opened (absent, busy, no permission). Check the cable, that no
    /// other program holds the camera, and that the service user is in the `video` group.
    #[error("cannot open camera {device}: {detail}")]
    Open {
        /// Which device.
        device: String,
        /// What the backend said.
        detail: String,
    },
    /// The device was open but a grab failed (unplugged, stalled). The performer closes the
    /// source and retries with backoff.
    #[error("camera {device} failed to deliver a frame: {detail}")]
    Grab {
        /// Which device.
        device: String,
        /// What the backend said.
        detail: String,
    },
    /// The backend returned a frame whose byte count does not match its size.
    #[error("camera delivered a malformed frame: {width}x{height} with {bytes} bytes")]
    BadFrame {
        /// Claimed width.
        width: u32,
        /// Claimed height.
        height: u32,
        /// Bytes present.
        bytes: usize,
    },
    /// The requested settings cannot work (zero or oversized resolution, ...). Fix the
    /// `[camera]` section of the config.
    #[error("camera settings refused: {0}")]
    Settings(String),
}

/// A camera the performer opens once and grabs from at every shot.
pub trait FrameSource: Send + 'static {
    /// A short description of the device for events and logs (`synthetic 640x480`,
    /// `/dev/video0`).
    fn describe(&self) -> String;

    /// Open the device and start streaming. `at` is station time (used by simulated backends
    /// to script outages; real backends ignore it).
    fn open(&mut self, at: UtcMicros) -> Result<(), SourceError>;

    /// Whether the source is open.
    fn is_open(&self) -> bool;

    /// Grab one fresh frame. `at` is station time (the synthetic scene draws it in).
    fn grab(&mut self, at: UtcMicros) -> Result<Frame, SourceError>;

    /// Stop streaming and release the device. Closing a closed source does nothing.
    fn close(&mut self);
}
