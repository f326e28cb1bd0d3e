//! Fuzzes the blob parser: any input either fails with an error or parses into a blob that
//! re-writes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(blob) = ncs::blob::parse(data) {
        let written = ncs::blob::write(&blob).expect("an accepted blob is writable");
        assert_eq!(written, data, "an accepted blob re-writes identically");
    }
});
