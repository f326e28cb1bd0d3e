//! The NCSDK v1 status table: number ↔ name ↔ meaning. The numbers and names are bindgen's
//! constants from `vendor/mvnc.h` (a name missing from the header fails to compile); the
//! meanings paraphrase the header's comments and NCSDK v1's behaviour. The `sdk` backend uses
//! it to name what a library returned, the drop-in `libmvnc` to choose what it returns.

use std::fmt;

use super::ffi;

/// Declares [`Status`] with each variant's discriminant taken from a bindgen constant.
macro_rules! statuses {
    ($($variant:ident = $constant:ident, $meaning:literal;)*) => {
        /// An `mvncStatus` the header declares.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum Status {
            $(#[doc = $meaning] $variant = ffi::$constant,)*
        }

        impl Status {
            /// Every status, in header order.
            pub const ALL: &'static [Status] = &[$(Status::$variant,)*];

            /// The header's name, e.g. `MVNC_BUSY`.
            pub fn name(self) -> &'static str {
                let constant = match self {
                    $(Status::$variant => stringify!($constant),)*
                };
                // bindgen prefixes each enumerator with its enum's name.
                constant.trim_start_matches("mvncStatus_")
            }

            /// What the status means, in a phrase.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Status::$variant => $meaning,)*
                }
            }
        }
    };
}

statuses! {
    Ok = mvncStatus_MVNC_OK, "success";
    Busy = mvncStatus_MVNC_BUSY,
        "busy: the device already has a graph, or two inferences are queued (non-blocking mode)";
    Error = mvncStatus_MVNC_ERROR, "USB or link failure";
    OutOfMemory = mvncStatus_MVNC_OUT_OF_MEMORY, "the host ran out of memory";
    DeviceNotFound = mvncStatus_MVNC_DEVICE_NOT_FOUND, "no device at this index";
    InvalidParameters = mvncStatus_MVNC_INVALID_PARAMETERS,
        "invalid parameters: a NULL pointer, an unknown handle or option, or a wrong length";
    Timeout = mvncStatus_MVNC_TIMEOUT, "the device did not answer in time";
    MvcmdNotFound = mvncStatus_MVNC_MVCMD_NOT_FOUND, "the firmware file (MvNCAPI.mvcmd) is missing";
    NoData = mvncStatus_MVNC_NO_DATA, "nothing to return yet (non-blocking mode, or no graph allocated)";
    Gone = mvncStatus_MVNC_GONE, "the graph or device went away while the call waited";
    UnsupportedGraphFile = mvncStatus_MVNC_UNSUPPORTED_GRAPH_FILE, "the graph file is not a valid NCSDK v1 graph";
    MyriadError = mvncStatus_MVNC_MYRIAD_ERROR, "the device reported an error (read MVNC_DEBUG_INFO)";
}

impl Status {
    /// The number C sees.
    pub fn code(self) -> ffi::mvncStatus {
        self as ffi::mvncStatus
    }

    /// The status a library returned, or `None` for a number the header does not declare.
    pub fn from_code(code: ffi::mvncStatus) -> Option<Status> {
        Status::ALL.iter().copied().find(|s| s.code() == code)
    }
}

impl fmt::Display for Status {
    /// `MVNC_BUSY (-1): busy: …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.code(), self.meaning())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The enumerators of `typedef enum { … } mvncStatus;` in the header, by name.
    fn header_status_names() -> Vec<String> {
        let header = include_str!("../../vendor/mvnc.h");
        let end = header.find("} mvncStatus;").expect("the header declares mvncStatus");
        let start = header[..end].rfind("typedef enum {").expect("mvncStatus is a typedef'd enum");
        header[start..end]
            .lines()
            .filter_map(|line| line.trim().strip_prefix("MVNC_"))
            .map(|rest| format!("MVNC_{}", rest.split([' ', '=', ',']).next().unwrap()))
            .collect()
    }

    #[test]
    fn the_table_lists_every_header_status_once_in_order() {
        let names: Vec<&str> = Status::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names, header_status_names());
    }

    #[test]
    fn numbers_round_trip_and_unknown_numbers_are_none() {
        for &status in Status::ALL {
            assert_eq!(Status::from_code(status.code()), Some(status));
        }
        assert_eq!(Status::Busy.code(), -1);
        assert_eq!(Status::MyriadError.code(), -11);
        assert_eq!(Status::from_code(-12), None);
        assert_eq!(Status::from_code(1), None);
    }

    #[test]
    fn display_names_the_number_and_the_meaning() {
        assert_eq!(Status::Timeout.to_string(), "MVNC_TIMEOUT (-6): the device did not answer in time");
    }
}
