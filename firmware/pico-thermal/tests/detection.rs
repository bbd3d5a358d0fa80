//! Given/when/then tests of the person rule, the LED and the frame gate, with a small
//! hand-built int8 model: the logits grow with the hottest pixel's contrast over the frame
//! mean (Person for a warm spot, Background for a flat frame).

use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as PinTx};
use vigil_int8::encode::{encode, softmax_table, QAffine, QLayer, QWeights, QuantModel};
use vigil_int8::{InputChannel, InputKind, Model, PoolGeom, QuantMultiplier};
use vigil_pico_thermal::{
    Detector, DetectorConfig, FrameGate, FrameOutput, PicoCore, ThermalClass,
};

fn contrast_model() -> Vec<u8> {
    let q = QuantModel {
        input_h: 24,
        input_w: 32,
        input_zero_point: -128,
        // q − zp = 4 · (T − mean) in °C (one step per 0.25 °C).
        inputs: vec![InputChannel {
            kind: InputKind::MinusMean,
            offset_centi: 0,
            requant: QuantMultiplier::from_real(1.0 / 25.0).expect("in range"),
        }],
        n_classes: 3,
        softmax_table: softmax_table(0.5),
        layers: vec![
            QLayer::MaxPool(PoolGeom {
                kh: 24,
                kw: 32,
                stride_h: 1,
                stride_w: 1,
            }),
            // Person = 4x − 12, Object = 0, Background = 12 − 4x (x = contrast in °C).
            QLayer::Dense(QAffine {
                out_c: 3,
                relu: false,
                out_zero_point: 0,
                weights: QWeights::Plain(vec![8, 0, -8]),
                bias: vec![-96, 0, 96],
                requant: vec![QuantMultiplier::from_real(0.125).expect("in range")],
            }),
        ],
    };
    encode(&q).expect("test model encodes")
}

/// An ambient frame with a 3×3 spot `delta_c` °C warmer.
fn frame(ambient_c: f32, delta_c: f32) -> [i16; 768] {
    let mut f = [(ambient_c * 100.0) as i16; 768];
    for y in 10..13 {
        for x in 14..17 {
            f[y * 32 + x] = ((ambient_c + delta_c) * 100.0) as i16;
        }
    }
    f
}

fn person() -> [i16; 768] {
    frame(22.0, 10.0)
}

fn empty() -> [i16; 768] {
    frame(22.0, 0.0)
}

#[test]
fn the_test_model_says_person_for_a_warm_spot_and_background_for_a_flat_frame() {
    let bytes = contrast_model();
    let model = Model::parse(&bytes).expect("parses");
    let mut arena = vec![0i8; model.arena_len()];
    let p = model.infer(&person(), &mut arena).expect("runs");
    assert_eq!((p.class, p.confidence_permille >= 990), (0, true));
    let e = model.infer(&empty(), &mut arena).expect("runs");
    assert_eq!(e.class, 2);
    let weak = model.infer(&frame(22.0, 3.6), &mut arena).expect("runs");
    assert_eq!(weak.class, 0);
    assert!(
        weak.confidence_permille < 900,
        "{}",
        weak.confidence_permille
    );
}

#[test]
fn given_nobody_when_three_person_frames_then_present_and_led_on_once() {
    let bytes = contrast_model();
    let model = Model::parse(&bytes).expect("parses");
    let mut arena = vec![0i8; model.arena_len()];
    let led = PinMock::new(&[PinTx::set(State::Low), PinTx::set(State::High)]);
    let mut core = PicoCore::new(model, &mut arena, DetectorConfig::default(), led).expect("core");
    let states: Vec<(bool, bool)> = (0..4)
        .map(|_| {
            let o = core.on_frame(&person()).expect("frame");
            (o.detection.person_present, o.detection.changed)
        })
        .collect();
    assert_eq!(
        states,
        vec![(false, false), (false, false), (true, true), (true, false)]
    );
    core.release().done();
}

#[test]
fn given_present_when_one_noisy_empty_frame_then_still_present() {
    let bytes = contrast_model();
    let model = Model::parse(&bytes).expect("parses");
    let mut arena = vec![0i8; model.arena_len()];
    let led = PinMock::new(&[PinTx::set(State::Low), PinTx::set(State::High)]);
    let mut core = PicoCore::new(model, &mut arena, DetectorConfig::default(), led).expect("core");
    for _ in 0..3 {
        core.on_frame(&person()).expect("frame");
    }
    let o = core.on_frame(&empty()).expect("frame");
    assert_eq!(o.detection.class, ThermalClass::Background);
    assert!(o.detection.person_present);
    for _ in 0..5 {
        assert!(
            core.on_frame(&person())
                .expect("frame")
                .detection
                .person_present
        );
    }
    core.release().done();
}

#[test]
fn given_present_when_three_empty_frames_then_cleared_and_led_off() {
    let bytes = contrast_model();
    let model = Model::parse(&bytes).expect("parses");
    let mut arena = vec![0i8; model.arena_len()];
    let led = PinMock::new(&[
        PinTx::set(State::Low),
        PinTx::set(State::High),
        PinTx::set(State::Low),
    ]);
    let mut core = PicoCore::new(model, &mut arena, DetectorConfig::default(), led).expect("core");
    for _ in 0..3 {
        core.on_frame(&person()).expect("frame");
    }
    let present: Vec<bool> = (0..3)
        .map(|_| {
            core.on_frame(&empty())
                .expect("frame")
                .detection
                .person_present
        })
        .collect();
    assert_eq!(present, vec![true, true, false]);
    core.release().done();
}

#[test]
fn given_nobody_when_one_noisy_person_frame_between_empty_ones_then_nothing_happens() {
    let mut d = Detector::new(DetectorConfig::default());
    for i in 0..20 {
        let (class, conf) = if i % 2 == 0 {
            (ThermalClass::Person, 990)
        } else {
            (ThermalClass::Background, 990)
        };
        let u = d.update(class, conf);
        assert!(!u.person_present && !u.changed, "frame {i}");
    }
}

#[test]
fn confident_enough_is_decided_by_the_threshold() {
    // Default 0.90: a Person at 899 ‰ does not vote, at 900 ‰ it does.
    let cfg = DetectorConfig {
        raise_frames: 1,
        ..DetectorConfig::default()
    };
    let mut d = Detector::new(cfg);
    assert!(!d.update(ThermalClass::Person, 899).vote);
    assert!(d.update(ThermalClass::Person, 900).person_present);
    // A lower configured threshold accepts the weak-contrast person.
    let mut d = Detector::new(DetectorConfig {
        threshold_permille: 600,
        raise_frames: 1,
        ..cfg
    });
    assert!(d.update(ThermalClass::Person, 665).person_present);
    // Object never votes, however confident.
    let mut d = Detector::new(cfg);
    assert!(!d.update(ThermalClass::Object, 1000).vote);
}

#[test]
fn on_change_output_sends_first_changed_and_state_change_frames_only() {
    let mut gate = FrameGate::<768>::new(FrameOutput::OnChange {
        min_delta_centi: 50,
    });
    let base = empty();
    assert!(gate.should_send(&base, false), "first frame");
    assert!(!gate.should_send(&base, false), "same frame");
    let mut small = base;
    small[5] += 30;
    assert!(
        !gate.should_send(&small, false),
        "0.3 °C is below the dead band"
    );
    assert!(
        gate.should_send(&small, true),
        "state change forces a frame"
    );
    let mut big = small;
    big[700] += 60;
    assert!(gate.should_send(&big, false), "0.6 °C counts");
    let mut full = FrameGate::<768>::new(FrameOutput::FullRate);
    assert!((0..5).all(|_| full.should_send(&base, false)));
}

#[test]
fn full_rate_core_marks_every_frame_for_sending() {
    let bytes = contrast_model();
    let model = Model::parse(&bytes).expect("parses");
    let mut arena = vec![0i8; model.arena_len()];
    let led = PinMock::new(&[PinTx::set(State::Low)]);
    let cfg = DetectorConfig {
        output: FrameOutput::FullRate,
        ..DetectorConfig::default()
    };
    let mut core = PicoCore::new(model, &mut arena, cfg, led).expect("core");
    let frames: Vec<(u32, bool)> = (0..3)
        .map(|_| core.on_frame(&empty()).expect("frame"))
        .map(|o| (o.frame, o.send_frame))
        .collect();
    assert_eq!(frames, vec![(1, true), (2, true), (3, true)]);
    core.release().done();
}

#[test]
fn a_model_for_other_frames_is_refused() {
    let mut q = QuantModel::from_model(&Model::parse(&contrast_model()).expect("parses"));
    q.input_h = 12;
    q.layers[0] = QLayer::MaxPool(PoolGeom {
        kh: 12,
        kw: 32,
        stride_h: 1,
        stride_w: 1,
    });
    let bytes = encode(&q).expect("encodes");
    let model = Model::parse(&bytes).expect("parses");
    let mut arena = vec![0i8; model.arena_len()];
    let led = PinMock::new(&[]);
    let mut handle = led.clone();
    let err =
        PicoCore::new(model, &mut arena, DetectorConfig::default(), led).expect_err("wrong shape");
    assert!(err.to_string().contains("12×32"), "{err}");
    // The LED was never touched.
    handle.done();
}
