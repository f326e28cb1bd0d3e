//! The TensorFlow front end: walks the nodes the output depends on, in TensorFlow's import
//! order, and lowers each as mvNCCompile v1's `TensorFlowParser` does (NCSDK 1.12
//! `Controllers/TensorFlowParser.py`), with one difference of method: mvNCCompile attached
//! fused ops (ReLU, bias, batch norm) to "the last stage created", we attach them to the stage
//! that produced their input, and refuse the graph where that would change what another
//! consumer sees. For the graphs mvNCCompile compiled correctly the two agree.
//!
//! Each TensorFlow tensor gets a [`Val`]: the network input, a stage's output (with a version
//! that changes whenever an op is fused into the stage), a channel concatenation of stages, a
//! constant, or a padded tensor waiting for its convolution.
//!
//! One job, though over 400 lines: the lowering state and the walk over it — the tensor table,
//! stage versions, the constant budget and the input's shape. The ops themselves live in
//! `lower/` (stages of their own), `fuse.rs` (folded into the stage before) and `constfold.rs`
//! (computed at compile time).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::error::{CompileError, CompileErrorKind, CompileResult};
use super::fuse::leaky_pattern;
use super::graph::{Attrs, Graph, TensorRef};
use super::ir::{Network, Source};
use super::proto::attr_value::Value;
use super::tensor::{self, Constant};

/// What a TensorFlow tensor is, as far as the compiler is concerned.
#[derive(Debug, Clone)]
pub enum Val {
    /// The network input.
    Input,
    /// A stage's output at a version (fusing an op into the stage bumps it).
    Stage {
        /// Stage index.
        stage: usize,
        /// Version of the stage's output this tensor is.
        version: u32,
    },
    /// Channel concatenation of stage outputs (flattened, nested concats included).
    Concat(Vec<usize>),
    /// A constant `Const` node (weights are decoded only when written).
    Node(usize),
    /// A constant the compiler computed (shape arithmetic, folded float ops).
    Folded(Rc<Constant>),
    /// A `Pad` of a tensor, to be folded into the convolution that reads it:
    /// `[[top, bottom], [left, right]]`.
    Padded(Box<Val>, [[i64; 2]; 2]),
}

/// A tensor: its value and static TensorFlow shape (batch fixed at 1).
#[derive(Debug, Clone)]
pub struct Tensor {
    /// The value.
    pub val: Val,
    /// The shape, outermost first.
    pub shape: Vec<i64>,
}

/// Compile options the front end needs.
#[derive(Debug, Clone)]
pub struct FrontOptions {
    /// Input node name (mvNCCompile `-in`, default `input`).
    pub input: String,
    /// Output node name (mvNCCompile `-on`, default `output`).
    pub output: String,
    /// Input shape `[H, W, C]` for placeholders without a complete one.
    pub input_shape: Option<[u32; 3]>,
}

/// The lowering state.
pub struct Front<'g> {
    /// The graph.
    pub g: &'g Graph,
    /// The network being built.
    pub net: Network,
    tensors: HashMap<TensorRef, Tensor>,
    /// Current version of each stage's output.
    pub versions: Vec<u32>,
    /// Whether a stage's output has been read by another stage or joined a concat.
    pub consumed: Vec<bool>,
    /// Mul nodes that belong to a LeakyReLU pattern (skipped; their Maximum fuses instead).
    pub leaky_muls: HashSet<usize>,
    /// How many nodes (among those lowered) read each tensor.
    pub uses: HashMap<TensorRef, usize>,
    /// Constant values decoded or computed so far, each use counted (bounded by
    /// [`MAX_CONSTANT_VALUES`]).
    pub constant_values: u64,
    /// `Const` nodes decoded so far: each is decoded once, however many nodes read it.
    decoded: HashMap<usize, Rc<Constant>>,
    input_node: usize,
    options: FrontOptions,
}

/// Lowers the graph to an IR network.
pub fn lower(g: &Graph, options: &FrontOptions) -> CompileResult<Network> {
    let input_node = g.find(&options.input, "input")?;
    let output_node = g.find(&options.output, "output")?;
    let order = g.execution_order(output_node)?;
    if !order.contains(&input_node) {
        return Err(CompileError::new(
            CompileErrorKind::UnknownNode,
            format!("the output '{}' does not depend on the input '{}'", options.output, options.input),
        ));
    }
    let mut front = Front {
        g,
        net: Network::default(),
        tensors: HashMap::new(),
        versions: Vec::new(),
        consumed: Vec::new(),
        leaky_muls: HashSet::new(),
        uses: HashMap::new(),
        constant_values: 0,
        decoded: HashMap::new(),
        input_node,
        options: options.clone(),
    };
    front.find_leaky_relu_patterns(&order);
    for &n in &order {
        let node = &g.nodes[n];
        front.lower_node(n).map_err(|e| e.or_at(&node.name, &node.op))?;
    }
    let out = front.tensor(TensorRef { node: output_node, output: 0 })?;
    match out.val {
        Val::Stage { .. } => {}
        Val::Concat(members) => {
            front.net.concat(&members, true);
        }
        _ => {
            let node = &g.nodes[output_node];
            return Err(CompileError::at(
                CompileErrorKind::Unsupported,
                &node.name,
                &node.op,
                "the output is not computed by any stage (a constant, or the input itself)",
            ));
        }
    }
    front.net.finish();
    warn_few_filters(&mut front.net);
    Ok(front.net)
}

/// Most values all constants the front end decodes, computes or hands on may amount to, each
/// use counted again: 2 × the largest constant one value list may fill. A real graph reads
/// batch-norm vectors, biases and shape arithmetic this way (Inception V3: under 100 K); its
/// weights are not decoded here but when written.
pub const MAX_CONSTANT_VALUES: u64 = 2 * tensor::MAX_FILLED_ELEMENTS;

/// Most values one tensor computed on the stick may hold (64 Mi: 128 MiB of fp16, above the
/// stick's 100 MiB work area), so that every record field derived from a shape fits in 32
/// bits and no product of dimensions overflows.
pub const MAX_TENSOR_VALUES: i64 = 1 << 26;

/// Fewer output channels than this make the firmware miscompute a convolution (the 6-filter
/// sample in `../shared/graphs` failed on a real stick where the 8-filter one passed).
const MIN_SAFE_FILTERS: u32 = 8;

fn warn_few_filters(net: &mut Network) {
    for s in &net.stages {
        if s.op == crate::blob::StageType::Convolution && s.out_dims.z < MIN_SAFE_FILTERS {
            net.warnings.push(format!(
                "stage '{}': a convolution with {} output channels; NCS1 firmware is known to miscompute \
                 convolutions with fewer than {MIN_SAFE_FILTERS} filters (written as mvNCCompile would)",
                s.name, s.out_dims.z
            ));
        }
    }
}

impl Front<'_> {
    /// The tensor of an input reference, which must have been lowered.
    pub fn tensor(&self, t: TensorRef) -> CompileResult<Tensor> {
        self.tensors.get(&t).cloned().ok_or_else(|| {
            let node = &self.g.nodes[t.node];
            CompileError::new(
                CompileErrorKind::Unsupported,
                format!("input '{}:{}' ({}) produces no value the NCS can use", node.name, t.output, node.op),
            )
        })
    }

    /// The i-th data input of node `n`.
    pub fn input(&self, n: usize, i: usize) -> CompileResult<Tensor> {
        let refs = &self.g.inputs[n];
        let t = refs.get(i).ok_or_else(|| {
            CompileError::new(
                CompileErrorKind::NotAGraph,
                format!("expected at least {} inputs, found {}", i + 1, refs.len()),
            )
        })?;
        self.tensor(*t)
    }

    /// Records output 0 of node `n`, refusing a tensor computed on the stick above
    /// [`MAX_TENSOR_VALUES`] (constants were bounded when decoded or folded).
    pub fn set(&mut self, n: usize, val: Val, shape: Vec<i64>) -> CompileResult<()> {
        if Front::is_tensor(&val) {
            let values = shape.iter().try_fold(1i64, |acc, &d| acc.checked_mul(d.max(0)));
            if !values.is_some_and(|v| v <= MAX_TENSOR_VALUES) {
                return Err(CompileError::new(
                    CompileErrorKind::Limit,
                    format!(
                        "a tensor of shape {shape:?} holds more than {MAX_TENSOR_VALUES} values; the stick's \
                         work area is 100 MiB"
                    ),
                ));
            }
        }
        self.tensors.insert(TensorRef { node: n, output: 0 }, Tensor { val, shape });
        Ok(())
    }

    /// Counts `values` more constant values against [`MAX_CONSTANT_VALUES`]: each constant is
    /// bounded on its own, but a chain of ops on large constants could hold or compute many.
    pub fn charge(&mut self, values: u64) -> CompileResult<()> {
        self.constant_values = self.constant_values.saturating_add(values);
        if self.constant_values > MAX_CONSTANT_VALUES {
            return Err(CompileError::new(
                CompileErrorKind::Limit,
                format!(
                    "constant folding would hold more than {MAX_CONSTANT_VALUES} computed values \
                     (a chain of ops on large constants); fold them before freezing"
                ),
            ));
        }
        Ok(())
    }

    /// The value of a constant input (`None` if it is not constant), each use charged to the
    /// budget (so the decoded values held are bounded too): a `Const` node is decoded on its
    /// first use and shared afterwards.
    pub fn constant(&mut self, t: &Tensor) -> CompileResult<Option<Rc<Constant>>> {
        let c = match &t.val {
            Val::Node(node) => match self.decoded.get(node) {
                Some(c) => c.clone(),
                None => {
                    // Charged before decoding, so a refused constant is never expanded.
                    let count: usize = self.g.constant_shape(*node)?.iter().product();
                    self.charge(count as u64)?;
                    let c = Rc::new(self.g.constant(*node)?);
                    self.decoded.insert(*node, c.clone());
                    return Ok(Some(c));
                }
            },
            Val::Folded(c) => c.clone(),
            _ => return Ok(None),
        };
        self.charge(c.len() as u64)?;
        Ok(Some(c))
    }

    /// A constant input or an error saying it must be one.
    pub fn require_constant(&mut self, n: usize, i: usize, what: &str) -> CompileResult<Rc<Constant>> {
        let t = self.input(n, i)?;
        self.constant(&t)?
            .ok_or_else(|| unsupported(format!("{what} (input {i}) must be a constant in a frozen graph")))
    }

    /// True when a value is computed on the stick (input, stage, concat, padded).
    pub fn is_tensor(val: &Val) -> bool {
        matches!(val, Val::Input | Val::Stage { .. } | Val::Concat(_) | Val::Padded(..))
    }

    /// Where a stage reading `val` takes its data, marking producers as consumed.
    pub fn source(&mut self, val: &Val) -> CompileResult<Source> {
        match val {
            Val::Input => Ok(Source::Input),
            Val::Stage { stage, version } => {
                if *version != self.versions[*stage] {
                    return Err(stale(&self.net.stages[*stage].name));
                }
                self.consumed[*stage] = true;
                Ok(Source::Stage(*stage))
            }
            Val::Concat(members) => Ok(Source::Concat(members.clone())),
            Val::Padded(..) => Err(unsupported("a Pad is supported only directly before a convolution".into())),
            Val::Node(_) | Val::Folded(_) => Err(unsupported("a constant cannot be a stage's main input".into())),
        }
    }

    /// Registers a new stage's output for node `n`.
    pub fn stage_output(&mut self, n: usize, stage: usize, shape: Vec<i64>) -> CompileResult<()> {
        debug_assert_eq!(stage, self.versions.len());
        self.versions.push(0);
        self.consumed.push(false);
        self.set(n, Val::Stage { stage, version: 0 }, shape)
    }

    /// The stage an op can be fused into: `val` must be a stage's current, unconsumed output.
    pub fn fusable(&self, val: &Val, what: &str) -> CompileResult<usize> {
        match val {
            Val::Stage { stage, version } => {
                let s = *stage;
                if *version != self.versions[s] {
                    return Err(stale(&self.net.stages[s].name));
                }
                if self.consumed[s] {
                    return Err(unsupported(format!(
                        "{what} would be fused into stage '{}', whose output another stage already reads; \
                         the NCS format has no standalone stage for it",
                        self.net.stages[s].name
                    )));
                }
                Ok(s)
            }
            Val::Input => Err(unsupported(format!("{what} directly on the network input is not supported"))),
            _ => Err(unsupported(format!("{what} must follow a stage (a convolution, pooling, …)"))),
        }
    }

    /// Marks an op fused into stage `s`: renames it and makes node `n` its new output.
    pub fn fused(&mut self, n: usize, s: usize, name: String, shape: Vec<i64>) -> CompileResult<()> {
        self.versions[s] += 1;
        self.net.stages[s].name = name;
        let version = self.versions[s];
        self.set(n, Val::Stage { stage: s, version }, shape)
    }

    /// The placeholder's shape, with the batch fixed at 1 and `--input-shape` applied.
    fn input_shape(&self, n: usize) -> CompileResult<Vec<i64>> {
        let node = &self.g.nodes[n];
        let declared = match node.attr_value("shape") {
            Some(Value::Shape(s)) => tensor::shape_of(s)?,
            _ => None,
        };
        let from_option = self.options.input_shape.map(|[h, w, c]| vec![1, i64::from(h), i64::from(w), i64::from(c)]);
        let shape = match (declared, from_option) {
            (None, Some(s)) => s,
            (None, None) => {
                return Err(CompileError::new(
                    CompileErrorKind::BadShape,
                    "the input placeholder has no shape; give one with --input-shape H,W,C",
                ))
            }
            (Some(mut d), option) => {
                if d.first() == Some(&-1) {
                    d[0] = 1;
                }
                if let Some(s) = option {
                    let compatible = d.len() == 4 && d.iter().zip(&s).all(|(&a, &b)| a == -1 || a == b);
                    if !compatible {
                        return Err(CompileError::new(
                            CompileErrorKind::BadOption,
                            format!("--input-shape {:?} contradicts the placeholder's shape {d:?}", &s[1..]),
                        ));
                    }
                    s
                } else {
                    d
                }
            }
        };
        if shape.contains(&-1) {
            return Err(CompileError::new(
                CompileErrorKind::BadShape,
                format!("the input shape {shape:?} is not fully known; give it with --input-shape H,W,C"),
            ));
        }
        if shape.first().is_some_and(|&b| b != 1) {
            return Err(CompileError::new(
                CompileErrorKind::BadShape,
                format!("batch {} in the input shape {shape:?}: the NCS runs one input at a time (batch 1)", shape[0]),
            ));
        }
        if shape.len() != 4 && shape.len() != 2 {
            return Err(CompileError::new(
                CompileErrorKind::BadShape,
                format!("input shape {shape:?}: expected [1, H, W, C] (or [1, N])"),
            ));
        }
        if shape.iter().any(|&d| d == 0 || d > i64::from(u16::MAX)) {
            return Err(CompileError::new(CompileErrorKind::BadShape, format!("input shape {shape:?} out of range")));
        }
        Ok(shape)
    }

    fn lower_node(&mut self, n: usize) -> CompileResult<()> {
        let op = self.g.nodes[n].op.as_str();
        if n == self.input_node {
            let shape = self.input_shape(n)?;
            return self.set(n, Val::Input, shape);
        }
        match op {
            "Const" => {
                // Decoded only if a value is read (weights are decoded when written).
                let shape = self.g.constant_shape(n)?.iter().map(|&d| d as i64).collect();
                self.set(n, Val::Node(n), shape)?;
            }
            "Placeholder" => {
                return Err(unsupported(format!(
                    "a second input placeholder (the input is '{}'); the NCS takes one input",
                    self.options.input
                )))
            }
            "NoOp" => {}
            _ => return self.lower_op(n, op),
        }
        Ok(())
    }

    /// Leaky ReLU as TF writes it without a dedicated op: `Maximum(x, Mul(alpha, x))`
    /// (the toolkit's `TensorFlowPreproc`). Such Muls are skipped when met.
    fn find_leaky_relu_patterns(&mut self, order: &[usize]) {
        let mut uses: HashMap<usize, usize> = HashMap::new();
        for &n in order {
            for t in &self.g.inputs[n] {
                *uses.entry(t.node).or_default() += 1;
                *self.uses.entry(*t).or_default() += 1;
            }
        }
        for &n in order {
            if self.g.nodes[n].op != "Maximum" || self.g.inputs[n].len() != 2 {
                continue;
            }
            if let Some((mul, _, _)) = leaky_pattern(self.g, n) {
                if uses.get(&mul) == Some(&1) {
                    self.leaky_muls.insert(mul);
                }
            }
        }
    }
}

/// An unsupported-op error (the caller adds node and op).
pub fn unsupported(message: String) -> CompileError {
    CompileError::new(CompileErrorKind::Unsupported, message)
}

/// A bad-shape error.
pub fn bad_shape(message: String) -> CompileError {
    CompileError::new(CompileErrorKind::BadShape, message)
}

fn stale(stage: &str) -> CompileError {
    unsupported(format!(
        "reads the output of stage '{stage}' from before an op was fused into it; the NCS format keeps \
         only the fused value"
    ))
}
