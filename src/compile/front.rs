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

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::error::{CompileError, CompileErrorKind, CompileResult};
use super::graph::{Attrs, Graph, TensorRef};
use super::ir::{Network, Source};
use super::proto::attr_value::Value;
use super::tensor::{self, Constant, Values};

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
    /// Values held by constants folded so far (bounded by `constfold::MAX_FOLDED_ELEMENTS`).
    pub folded_elements: u64,
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
        folded_elements: 0,
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

    /// Records output 0 of node `n`.
    pub fn set(&mut self, n: usize, val: Val, shape: Vec<i64>) {
        self.tensors.insert(TensorRef { node: n, output: 0 }, Tensor { val, shape });
    }

    /// The value of a constant input, decoded (`None` if it is not constant).
    pub fn constant(&self, t: &Tensor) -> CompileResult<Option<Rc<Constant>>> {
        match &t.val {
            Val::Node(node) => Ok(Some(Rc::new(self.g.constant(*node)?))),
            Val::Folded(c) => Ok(Some(c.clone())),
            _ => Ok(None),
        }
    }

    /// A constant input or an error saying it must be one.
    pub fn require_constant(&self, n: usize, i: usize, what: &str) -> CompileResult<Rc<Constant>> {
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
    pub fn stage_output(&mut self, n: usize, stage: usize, shape: Vec<i64>) {
        debug_assert_eq!(stage, self.versions.len());
        self.versions.push(0);
        self.consumed.push(false);
        self.set(n, Val::Stage { stage, version: 0 }, shape);
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
    pub fn fused(&mut self, n: usize, s: usize, name: String, shape: Vec<i64>) {
        self.versions[s] += 1;
        self.net.stages[s].name = name;
        let version = self.versions[s];
        self.set(n, Val::Stage { stage: s, version }, shape);
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
            self.set(n, Val::Input, shape);
            return Ok(());
        }
        match op {
            "Const" => {
                let shape = self.g.constant(n)?.shape.iter().map(|&d| d as i64).collect();
                self.set(n, Val::Node(n), shape);
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

/// For a `Maximum` node `n`: `(mul node, x, alpha)` if it is `Maximum(x, Mul(alpha, x))` (either
/// operand order) with a scalar constant `alpha`.
pub fn leaky_pattern(g: &Graph, n: usize) -> Option<(usize, TensorRef, f32)> {
    let &[a, b] = g.inputs[n].as_slice() else { return None };
    for (m, x) in [(a, b), (b, a)] {
        let mul = &g.nodes[m.node];
        if mul.op != "Mul" || g.inputs[m.node].len() != 2 {
            continue;
        }
        let mins = &g.inputs[m.node];
        for (a, b) in [(mins[0], mins[1]), (mins[1], mins[0])] {
            if b != x {
                continue;
            }
            let alpha = scalar_const(g, a.node)?;
            return Some((m.node, x, alpha));
        }
    }
    None
}

/// A scalar float constant behind Identity nodes.
fn scalar_const(g: &Graph, mut n: usize) -> Option<f32> {
    while g.nodes[n].op == "Identity" {
        n = g.inputs[n].first()?.node;
    }
    let c = g.constant(n).ok()?;
    match (&c.values, c.shape.iter().product::<usize>()) {
        (Values::Float(v), 1) => Some(v[0]),
        _ => None,
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
