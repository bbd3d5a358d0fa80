//! Synthetic scenes for the Pico simulator, from vigil-scenes' generator.
//!
//! The simulator shows a cycle of scenes, each a run of frames of one room:
//!
//! 1. **person walking through** ([`SceneKind::PersonWalk`], 30 frames): the room is empty,
//!    a person enters from the left edge (8 frames), stays in view (14 frames, swaying by a
//!    column) and leaves to the right (8 frames);
//! 2. **empty room** (16 frames);
//! 3. **hot object** (16 frames): a cup, lamp, radiator, cold drink, laptop or animal;
//! 4. **empty room** (16 frames);
//!
//! then again with new rooms, people and objects. Everything follows from the seed: the same
//! seed gives the same frames, bit for bit.
//!
//! A walk is composed from two generator scenes that share their room (the generator draws the
//! room first, so the same seed gives the same room): the person layer is what the person
//! scene adds to the empty one (pixels more than 0.8 °C warmer, dead pixels left out), shifted
//! horizontally frame by frame. Every frame gets fresh sensor noise (σ 0.08 °C) on top of the
//! generator's, so consecutive frames differ as real readings do.

use vigil_scenes::{scene, to_centi, Rng};
use vigil_wire::ThermalClass;

/// Rows of a frame.
pub const ROWS: usize = 24;
/// Columns of a frame.
pub const COLS: usize = 32;
/// Pixels of a frame.
pub const PIXELS: usize = ROWS * COLS;

/// Frames a person needs to walk in (and out).
const WALK_EDGE: u32 = 8;
/// Frames the person stays in view.
const WALK_STAY: u32 = 14;
/// Frames of an empty room or an object.
const STILL: u32 = 16;

/// What a scene shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SceneKind {
    /// A person walks in, stays, and walks out.
    PersonWalk,
    /// A hot (or cold) object in the room.
    HotObject,
    /// Nobody and nothing of note.
    EmptyRoom,
}

impl SceneKind {
    /// Stable name: `person_walk`, `hot_object`, `empty_room`.
    pub fn name(self) -> &'static str {
        match self {
            SceneKind::PersonWalk => "person_walk",
            SceneKind::HotObject => "hot_object",
            SceneKind::EmptyRoom => "empty_room",
        }
    }

    fn frames(self) -> u32 {
        match self {
            SceneKind::PersonWalk => 2 * WALK_EDGE + WALK_STAY,
            SceneKind::HotObject | SceneKind::EmptyRoom => STILL,
        }
    }
}

/// The default order of scenes.
pub const DEFAULT_ORDER: [SceneKind; 4] = [
    SceneKind::PersonWalk,
    SceneKind::EmptyRoom,
    SceneKind::HotObject,
    SceneKind::EmptyRoom,
];

struct Scene {
    kind: SceneKind,
    /// The still part (room, or room with object), °C.
    base: Vec<f32>,
    /// What the person adds, °C (empty unless a walk).
    person: Vec<f32>,
}

/// An endless, deterministic sequence of frames. See the module docs.
pub struct SceneCycle {
    seed: u64,
    order: Vec<SceneKind>,
    scene_index: u64,
    frame_in_scene: u32,
    current: Scene,
    noise: Rng,
}

impl std::fmt::Debug for SceneCycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SceneCycle")
            .field("seed", &self.seed)
            .field("scene_index", &self.scene_index)
            .field("kind", &self.current.kind)
            .field("frame_in_scene", &self.frame_in_scene)
            .finish()
    }
}

fn scene_seed(seed: u64, index: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03)
}

fn build(kind: SceneKind, seed: u64) -> Scene {
    match kind {
        SceneKind::EmptyRoom => Scene {
            kind,
            base: scene(ThermalClass::Background, &mut Rng::new(seed)),
            person: Vec::new(),
        },
        SceneKind::HotObject => Scene {
            kind,
            base: scene(ThermalClass::Object, &mut Rng::new(seed)),
            person: Vec::new(),
        },
        SceneKind::PersonWalk => {
            let empty = scene(ThermalClass::Background, &mut Rng::new(seed));
            let with = scene(ThermalClass::Person, &mut Rng::new(seed));
            let person = with
                .iter()
                .zip(&empty)
                .map(|(&p, &b)| {
                    let d = p - b;
                    if d > 0.8 && p > -39.0 && b > -39.0 {
                        d
                    } else {
                        0.0
                    }
                })
                .collect();
            Scene {
                kind,
                base: empty,
                person,
            }
        }
    }
}

impl SceneCycle {
    /// The default cycle ([`DEFAULT_ORDER`]) for `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_order(seed, &DEFAULT_ORDER)
    }

    /// A cycle through `order` (the default order when empty).
    pub fn with_order(seed: u64, order: &[SceneKind]) -> Self {
        let order = if order.is_empty() {
            DEFAULT_ORDER.to_vec()
        } else {
            order.to_vec()
        };
        let current = build(order[0], scene_seed(seed, 0));
        SceneCycle {
            seed,
            order,
            scene_index: 0,
            frame_in_scene: 0,
            current,
            noise: Rng::new(seed ^ 0xA5A5_5A5A),
        }
    }

    /// The scene the next frame belongs to.
    pub fn kind(&self) -> SceneKind {
        self.current.kind
    }

    /// Horizontal offset of the person in frame `i` of a walk (columns; ±COLS is out of view).
    fn walk_shift(i: u32) -> i32 {
        let edge = WALK_EDGE as i32;
        let i = i as i32;
        if i < edge {
            // Enters: from almost out of view on the left to the generated position.
            -(COLS as i32) * (edge - i) / (edge + 1)
        } else if i < edge + WALK_STAY as i32 {
            // Sways by a column while standing.
            if (i - edge) % 4 == 3 {
                1
            } else {
                0
            }
        } else {
            let k = i - edge - WALK_STAY as i32 + 1;
            (COLS as i32) * k / (edge + 1)
        }
    }

    /// The next frame (centi-°C, row-major) and the scene it shows.
    pub fn next_frame(&mut self) -> (SceneKind, [i16; PIXELS]) {
        let kind = self.current.kind;
        let mut t = self.current.base.clone();
        if kind == SceneKind::PersonWalk {
            let dx = Self::walk_shift(self.frame_in_scene);
            for y in 0..ROWS {
                for x in 0..COLS {
                    let sx = x as i32 - dx;
                    if (0..COLS as i32).contains(&sx) {
                        let add = self.current.person[y * COLS + sx as usize];
                        if t[y * COLS + x] > -39.0 {
                            t[y * COLS + x] += add;
                        }
                    }
                }
            }
        }
        for v in &mut t {
            if *v > -39.0 {
                *v = (*v + 0.08 * self.noise.normal()).clamp(-40.0, 300.0);
            }
        }
        let mut out = [0i16; PIXELS];
        for (o, c) in out.iter_mut().zip(to_centi(&t)) {
            *o = c;
        }
        self.advance();
        (kind, out)
    }

    fn advance(&mut self) {
        self.frame_in_scene += 1;
        if self.frame_in_scene >= self.current.kind.frames() {
            self.frame_in_scene = 0;
            self.scene_index += 1;
            let kind = self.order[(self.scene_index % self.order.len() as u64) as usize];
            self.current = build(kind, scene_seed(self.seed, self.scene_index));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_frames() {
        let mut a = SceneCycle::new(7);
        let mut b = SceneCycle::new(7);
        for _ in 0..40 {
            assert_eq!(a.next_frame(), b.next_frame());
        }
        let mut c = SceneCycle::new(8);
        assert_ne!(SceneCycle::new(7).next_frame().1, c.next_frame().1);
    }

    #[test]
    fn cycle_follows_the_order_and_lengths() {
        let mut c = SceneCycle::new(1);
        let kinds: Vec<SceneKind> = (0..30 + 16 + 16 + 16 + 1)
            .map(|_| c.next_frame().0)
            .collect();
        assert!(kinds[..30].iter().all(|k| *k == SceneKind::PersonWalk));
        assert!(kinds[30..46].iter().all(|k| *k == SceneKind::EmptyRoom));
        assert!(kinds[46..62].iter().all(|k| *k == SceneKind::HotObject));
        assert!(kinds[62..78].iter().all(|k| *k == SceneKind::EmptyRoom));
        assert_eq!(kinds[78], SceneKind::PersonWalk);
    }

    #[test]
    fn the_walker_is_warm_in_the_middle_and_gone_at_the_edges() {
        let mut c = SceneCycle::with_order(3, &[SceneKind::PersonWalk]);
        let frames: Vec<[i16; PIXELS]> = (0..30).map(|_| c.next_frame().1).collect();
        let warm = |f: &[i16; PIXELS]| {
            let mean = f.iter().map(|&v| i64::from(v)).sum::<i64>() / PIXELS as i64;
            f.iter().filter(|&&v| i64::from(v) > mean + 150).count()
        };
        // In view in the middle, far less (or nothing) when entering.
        assert!(
            warm(&frames[15]) > warm(&frames[0]),
            "{} vs {}",
            warm(&frames[15]),
            warm(&frames[0])
        );
    }
}
