//! The generator's scenes are physically plausible.

use vigil_scenes::generate;
use vigil_wire::ThermalClass;

#[test]
fn synthetic_scenes_are_physically_plausible() {
    let set = generate(300, 11);
    let mut warm_people = 0;
    for (label, f) in &set {
        let mut sorted: Vec<f32> = f.iter().copied().filter(|&v| v > -39.0).collect();
        sorted.sort_by(f32::total_cmp);
        let median = sorted[sorted.len() / 2];
        let max = sorted[sorted.len() - 1];
        assert!(
            (9.0..=37.0).contains(&median),
            "{label}: room at {median} °C"
        );
        match label {
            // A person is never hotter than skin, and usually clearly warmer than the room.
            ThermalClass::Person => {
                assert!(max < 37.5, "person max {max}");
                warm_people += usize::from(max > median + 1.0);
            }
            // Background has no strong source.
            ThermalClass::Background => {
                assert!(max < median + 8.0, "background max {max}, room {median}")
            }
            ThermalClass::Object => {}
        }
    }
    assert!(
        warm_people >= 90,
        "only {warm_people} of 100 people stand out by 1 °C"
    );
    // Dead pixels appear somewhere in the set.
    assert!(set.iter().any(|(_, f)| f.contains(&-40.0)));
}
