//! Fuzzes `.npy` reading: any input is an error or an array whose shape accounts for its values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(array) = ncs::npy::parse(data) {
        let count = array.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        assert_eq!(count, Some(array.values.len()), "shape {:?} vs {} values", array.shape, array.values.len());
    }
});
