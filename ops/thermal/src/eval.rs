//! Classification on the host (int8 engine or f32 reference), accuracy and confusion matrix.

use std::fmt;

use vigil_int8::reference::{classify, F32Model, ReferenceError};
use vigil_int8::{Inference, Kernel, Model, PreparedModel, RunError};
use vigil_scenes::to_centi;
use vigil_wire::ThermalClass;

/// The host's int8 classifier: a parsed model prepared for this CPU's fastest kernel.
#[derive(Debug)]
pub struct Int8Classifier<'m> {
    model: PreparedModel<'m>,
}

impl<'m> Int8Classifier<'m> {
    /// Wraps a parsed model, prepared for the fastest kernel of this CPU
    /// ([`vigil_int8::Kernel::best`]; bit-identical to the Pico's portable engine).
    pub fn new(model: Model<'m>) -> Self {
        Int8Classifier {
            model: PreparedModel::new(model),
        }
    }

    /// The model.
    pub fn model(&self) -> &Model<'m> {
        self.model.model()
    }

    /// The kernel it runs on.
    pub fn kernel(&self) -> Kernel {
        self.model.kernel()
    }

    /// Classifies a frame in centi-°C (the wire's unit), with the very bits the Pico gets.
    pub fn classify_centi(&mut self, centi: &[i16]) -> Result<Inference, RunError> {
        self.model.infer(centi)
    }

    /// Classifies a frame in °C (rounded to centi-°C first).
    pub fn classify(&mut self, frame_c: &[f32]) -> Result<Inference, RunError> {
        self.classify_centi(&to_centi(frame_c))
    }
}

/// Accuracy and confusion matrix (rows: true class, columns: predicted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Confusion {
    /// `counts[true][predicted]`.
    pub counts: [[u32; 3]; 3],
}

impl Confusion {
    /// Records one prediction.
    pub fn add(&mut self, truth: ThermalClass, predicted: ThermalClass) {
        self.counts[truth.index()][predicted.index()] += 1;
    }

    /// Samples recorded.
    pub fn total(&self) -> u32 {
        self.counts.iter().flatten().sum()
    }

    /// Correct predictions.
    pub fn correct(&self) -> u32 {
        (0..3).map(|i| self.counts[i][i]).sum()
    }

    /// Fraction correct (0 when empty).
    pub fn accuracy(&self) -> f64 {
        let t = self.total();
        if t == 0 {
            0.0
        } else {
            f64::from(self.correct()) / f64::from(t)
        }
    }
}

impl fmt::Display for Confusion {
    /// A table: one row per true class, one column per predicted class.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>12} {:>8} {:>8} {:>10}",
            "true\\pred", "person", "object", "background"
        )?;
        for l in ThermalClass::ALL {
            let r = self.counts[l.index()];
            writeln!(f, "{:>12} {:>8} {:>8} {:>10}", l.name(), r[0], r[1], r[2])?;
        }
        write!(
            f,
            "accuracy {:.2} % ({} / {})",
            100.0 * self.accuracy(),
            self.correct(),
            self.total()
        )
    }
}

/// Evaluates the int8 model on labelled frames.
pub fn evaluate_int8(
    clf: &mut Int8Classifier<'_>,
    samples: &[(ThermalClass, Vec<f32>)],
) -> Result<Confusion, RunError> {
    let mut c = Confusion::default();
    for (label, frame) in samples {
        let r = clf.classify(frame)?;
        c.add(
            *label,
            ThermalClass::from_index(r.class).unwrap_or(ThermalClass::Background),
        );
    }
    Ok(c)
}

/// Evaluates the f32 model on labelled frames.
pub fn evaluate_f32(
    model: &F32Model,
    samples: &[(ThermalClass, Vec<f32>)],
) -> Result<Confusion, ReferenceError> {
    let mut c = Confusion::default();
    for (label, frame) in samples {
        let (class, _) = classify(model, frame)?;
        c.add(
            *label,
            ThermalClass::from_index(class).unwrap_or(ThermalClass::Background),
        );
    }
    Ok(c)
}
