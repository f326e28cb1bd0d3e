//! Where the firmware's arithmetic is not documented, the reference follows the framework that
//! produced the graph. Each choice is listed here (and in README.md) with the single-layer
//! hardware-in-the-loop test in `tests/hil.rs` that settles it on a real stick (`NCS_HIL=1`).

/// One semantic choice the reference makes for lack of a firmware specification.
#[derive(Debug, Clone, Copy)]
pub struct Choice {
    /// The question.
    pub topic: &'static str,
    /// What the reference does.
    pub choice: &'static str,
    /// The `tests/hil.rs` test that compares a stick against this choice.
    pub hil_test: &'static str,
}

/// Every open question, in one place.
pub const CHOICES: &[Choice] = &[
    Choice {
        topic: "average-pool divisor where the window overlaps padding",
        choice: "tfsame/tfvalid: count only cells inside the input (TensorFlow); caffe: the window clipped to the padded input (Caffe)",
        hil_test: "hil_avg_pool_divisor",
    },
    Choice {
        topic: "TF SAME padding split for pooling and convolution",
        choice: "before = floor(total/2), the extra row/column after (TensorFlow)",
        hil_test: "hil_tf_same_split",
    },
    Choice {
        topic: "max pooling over padded cells",
        choice: "padding never wins: the maximum is over cells inside the input",
        hil_test: "hil_max_pool_padding",
    },
    Choice {
        topic: "accumulation precision inside a stage",
        choice: "f32 accumulation; only stored stage outputs are rounded to fp16",
        hil_test: "hil_fp16_accumulation",
    },
    Choice {
        topic: "reshape (24) data order",
        choice: "the input's HWC values, in order, written as one flat run at the output pointer",
        hil_test: "hil_reshape_order",
    },
    Choice {
        topic: "toplanemajor (25) order",
        choice: "HWC → CHW (Caffe Flatten): out[c·H·W + y·W + x] = in[y][x][c]",
        hil_test: "hil_toplanemajor_order",
    },
    Choice {
        topic: "crop (27) offset order",
        choice: "opParams u32[3] = [rows, columns, channels] offsets",
        hil_test: "hil_crop_offsets",
    },
    Choice {
        topic: "LRN window for even sizes",
        choice: "channels c − floor((n−1)/2) … c + ceil((n−1)/2)",
        hil_test: "hil_lrn_even_window",
    },
    Choice {
        topic: "elementwise ops whose output dims differ from their input dims (TF quirk 2)",
        choice: "read the input through its own strides with the output's dims, as the record describes",
        hil_test: "hil_quirk_dims",
    },
    Choice {
        topic: "max_with_const (44) and scale_with_scalar (46) operands",
        choice: "one constant (or one per channel) from taps; the second tensor of 46 read with the input's strides and one channel",
        hil_test: "hil_const_operands",
    },
];
