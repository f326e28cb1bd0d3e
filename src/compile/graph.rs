//! A decoded GraphDef, indexed: nodes by name, inputs resolved to (node, output) pairs, and the
//! order in which mvNCCompile visits them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use bytes::Bytes;
use prost::Message;

use super::error::{CompileError, CompileErrorKind, CompileResult};
use super::proto::{attr_value::Value, AttrValue, GraphDef, NodeDef};
use super::tensor::{self, Constant};

/// Most nodes a graph may have (Inception V3 frozen has ≈ 1,000; TF's own limit is far higher,
/// but every node costs the compiler work, so bound it).
pub const MAX_NODES: usize = 1 << 20;

/// One output of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TensorRef {
    /// Index of the producing node.
    pub node: usize,
    /// Which of its outputs.
    pub output: u32,
}

/// A GraphDef with its nodes indexed.
#[derive(Debug)]
pub struct Graph {
    /// The nodes, in file order.
    pub nodes: Vec<NodeDef>,
    /// Data inputs of each node (control inputs dropped).
    pub inputs: Vec<Vec<TensorRef>>,
    /// Control inputs of each node.
    pub controls: Vec<Vec<usize>>,
    by_name: HashMap<String, usize>,
}

/// Ops that hold mutable state: a graph containing them among the output's ancestors was not
/// frozen.
const VARIABLE_OPS: &[&str] = &["Variable", "VariableV2", "VarHandleOp", "ReadVariableOp", "AssignVariableOp"];

impl Graph {
    /// Decodes and indexes a binary GraphDef.
    pub fn decode(bytes: Bytes) -> CompileResult<Graph> {
        if bytes.is_empty() {
            return Err(CompileError::new(CompileErrorKind::NotAGraph, "the file is empty"));
        }
        let def = GraphDef::decode(bytes).map_err(|e| {
            CompileError::new(
                CompileErrorKind::NotAGraph,
                format!("not a TensorFlow GraphDef (binary protobuf): {e}. Freeze the model to a .pb first"),
            )
        })?;
        if def.node.is_empty() {
            return Err(CompileError::new(CompileErrorKind::NotAGraph, "the GraphDef has no nodes"));
        }
        if def.node.len() > MAX_NODES {
            return Err(CompileError::new(
                CompileErrorKind::Limit,
                format!("{} nodes; at most {MAX_NODES} are supported", def.node.len()),
            ));
        }
        Graph::index(def.node)
    }

    fn index(nodes: Vec<NodeDef>) -> CompileResult<Graph> {
        let mut by_name = HashMap::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            if node.name.is_empty() {
                return Err(CompileError::new(CompileErrorKind::NotAGraph, format!("node {i} has no name")));
            }
            if by_name.insert(node.name.clone(), i).is_some() {
                return Err(CompileError::at(
                    CompileErrorKind::NotAGraph,
                    &node.name,
                    &node.op,
                    "two nodes have this name",
                ));
            }
        }
        let mut inputs = Vec::with_capacity(nodes.len());
        let mut controls = Vec::with_capacity(nodes.len());
        for node in &nodes {
            let mut data = Vec::new();
            let mut control = Vec::new();
            for spec in &node.input {
                let missing = || {
                    CompileError::at(
                        CompileErrorKind::NotAGraph,
                        &node.name,
                        &node.op,
                        format!("input '{spec}' names no node of the graph"),
                    )
                };
                if let Some(name) = spec.strip_prefix('^') {
                    control.push(*by_name.get(name).ok_or_else(missing)?);
                    continue;
                }
                let (name, output) = match spec.rsplit_once(':') {
                    Some((name, index)) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => {
                        (name, index.parse::<u32>().map_err(|_| missing())?)
                    }
                    _ => (spec.as_str(), 0),
                };
                data.push(TensorRef { node: *by_name.get(name).ok_or_else(missing)?, output });
            }
            inputs.push(data);
            controls.push(control);
        }
        Ok(Graph { nodes, inputs, controls, by_name })
    }

    /// The node of this name, or the clear error mvNCCompile's `-in`/`-on` users need.
    pub fn find(&self, name: &str, role: &str) -> CompileResult<usize> {
        // mvNCCompile accepted "name:0" as well as "name".
        let bare = name.strip_suffix(":0").unwrap_or(name);
        self.by_name.get(bare).copied().ok_or_else(|| {
            let mut close: Vec<&str> = self
                .nodes
                .iter()
                .filter(|n| n.op == "Placeholder" || n.name.ends_with(bare.rsplit('/').next().unwrap_or(bare)))
                .map(|n| n.name.as_str())
                .take(5)
                .collect();
            close.sort_unstable();
            CompileError::new(
                CompileErrorKind::UnknownNode,
                format!(
                    "{role} node '{name}' is not in the graph{}",
                    if close.is_empty() { String::new() } else { format!(" (candidates: {})", close.join(", ")) }
                ),
            )
        })
    }

    /// The value of a `Const` node, decoded with bounds.
    pub(crate) fn constant(&self, node: usize) -> CompileResult<Constant> {
        let n = &self.nodes[node];
        let label = |e: CompileError| e.or_at(&n.name, &n.op);
        if n.op != "Const" {
            return Err(label(CompileError::new(CompileErrorKind::BadConstant, "expected a constant")));
        }
        match n.attr_value("value") {
            Some(Value::Tensor(t)) => tensor::decode(t).map_err(label),
            _ => Err(label(CompileError::new(CompileErrorKind::BadConstant, "a Const without a tensor value"))),
        }
    }

    /// The shape of a `Const` node, checked against its bytes without decoding its values.
    pub(crate) fn constant_shape(&self, node: usize) -> CompileResult<Vec<usize>> {
        let n = &self.nodes[node];
        let label = |e: CompileError| e.or_at(&n.name, &n.op);
        match n.attr_value("value") {
            Some(Value::Tensor(t)) if n.op == "Const" => tensor::checked_shape(t).map_err(label),
            _ => Err(label(CompileError::new(CompileErrorKind::BadConstant, "a Const without a tensor value"))),
        }
    }

    /// A graph without nodes (for unit tests of code that only needs one).
    #[cfg(test)]
    pub fn empty() -> Graph {
        Graph { nodes: Vec::new(), inputs: Vec::new(), controls: Vec::new(), by_name: HashMap::new() }
    }

    /// Index of a node by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The nodes `output` depends on (itself included), in the order TensorFlow's importer
    /// creates them: file order wherever the file is topologically sorted, otherwise the
    /// lowest-numbered ready node first. Errors on cycles and on variables (not frozen).
    pub fn execution_order(&self, output: usize) -> CompileResult<Vec<usize>> {
        let mut needed = vec![false; self.nodes.len()];
        let mut stack = vec![output];
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut needed[n], true) {
                continue;
            }
            stack.extend(self.inputs[n].iter().map(|t| t.node));
            stack.extend(self.controls[n].iter().copied());
        }
        if let Some(v) = (0..self.nodes.len()).find(|&n| needed[n] && VARIABLE_OPS.contains(&self.nodes[n].op.as_str()))
        {
            let node = &self.nodes[v];
            return Err(CompileError::at(
                CompileErrorKind::NotFrozen,
                &node.name,
                &node.op,
                "the graph still reads variables: freeze it first (e.g. tf.compat.v1.graph_util.\
                 convert_variables_to_constants, or freeze_graph) so that weights are constants",
            ));
        }
        let mut pending = vec![0usize; self.nodes.len()];
        let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        for n in (0..self.nodes.len()).filter(|&n| needed[n]) {
            let sources = self.inputs[n].iter().map(|t| t.node).chain(self.controls[n].iter().copied());
            for source in sources {
                pending[n] += 1;
                consumers[source].push(n);
            }
        }
        let mut ready: BinaryHeap<Reverse<usize>> =
            (0..self.nodes.len()).filter(|&n| needed[n] && pending[n] == 0).map(Reverse).collect();
        let mut order = Vec::new();
        while let Some(Reverse(n)) = ready.pop() {
            order.push(n);
            for &c in &consumers[n] {
                pending[c] -= 1;
                if pending[c] == 0 {
                    ready.push(Reverse(c));
                }
            }
        }
        if order.len() != needed.iter().filter(|&&n| n).count() {
            let stuck = (0..self.nodes.len()).find(|&n| needed[n] && pending[n] > 0).unwrap_or(output);
            let node = &self.nodes[stuck];
            return Err(CompileError::at(CompileErrorKind::NotAGraph, &node.name, &node.op, "the graph has a cycle"));
        }
        Ok(order)
    }
}

/// Typed attribute access with errors naming the node.
pub trait Attrs {
    /// The raw attribute.
    fn attr_value(&self, key: &str) -> Option<&Value>;
    /// Node name and op, for errors.
    fn label(&self) -> (&str, &str);

    /// An int attribute.
    fn attr_int(&self, key: &str) -> CompileResult<Option<i64>> {
        match self.attr_value(key) {
            None => Ok(None),
            Some(Value::I(i)) => Ok(Some(*i)),
            Some(_) => Err(self.attr_error(key, "an int")),
        }
    }

    /// A float attribute.
    fn attr_float(&self, key: &str) -> CompileResult<Option<f32>> {
        match self.attr_value(key) {
            None => Ok(None),
            Some(Value::F(f)) => Ok(Some(*f)),
            Some(_) => Err(self.attr_error(key, "a float")),
        }
    }

    /// A string attribute (bytes as text).
    fn attr_str(&self, key: &str) -> CompileResult<Option<String>> {
        match self.attr_value(key) {
            None => Ok(None),
            Some(Value::S(s)) => Ok(Some(String::from_utf8_lossy(s).into_owned())),
            Some(_) => Err(self.attr_error(key, "a string")),
        }
    }

    /// A `list(int)` attribute.
    fn attr_ints(&self, key: &str) -> CompileResult<Option<Vec<i64>>> {
        match self.attr_value(key) {
            None => Ok(None),
            Some(Value::List(l)) => Ok(Some(l.i.clone())),
            Some(_) => Err(self.attr_error(key, "a list of ints")),
        }
    }

    /// A bool attribute.
    fn attr_bool(&self, key: &str) -> CompileResult<Option<bool>> {
        match self.attr_value(key) {
            None => Ok(None),
            Some(Value::B(b)) => Ok(Some(*b)),
            Some(_) => Err(self.attr_error(key, "a bool")),
        }
    }

    /// The error for an attribute of the wrong kind.
    fn attr_error(&self, key: &str, wanted: &str) -> CompileError {
        let (name, op) = self.label();
        CompileError::at(CompileErrorKind::NotAGraph, name, op, format!("attribute '{key}' is not {wanted}"))
    }
}

impl Attrs for NodeDef {
    fn attr_value(&self, key: &str) -> Option<&Value> {
        self.attr.get(key).and_then(|a: &AttrValue| a.value.as_ref())
    }

    fn label(&self) -> (&str, &str) {
        (&self.name, &self.op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, op: &str, inputs: &[&str]) -> NodeDef {
        NodeDef {
            name: name.into(),
            op: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn order_is_file_order_when_sorted_and_topological_otherwise() {
        let g = Graph::index(vec![
            node("x", "Placeholder", &[]),
            node("late", "Relu", &["early:0"]),
            node("early", "Relu", &["x"]),
            node("unused", "Relu", &["x"]),
            node("out", "Add", &["late", "early", "^x"]),
        ])
        .unwrap();
        assert_eq!(g.execution_order(4).unwrap(), vec![0, 2, 1, 4]);
    }

    #[test]
    fn errors_name_the_node() {
        let err = Graph::index(vec![node("a", "Relu", &["nowhere:1"])]).unwrap_err();
        assert!(err.to_string().contains("'a' (Relu)") && err.message.contains("nowhere:1"), "{err}");
        let g = Graph::index(vec![node("a", "Relu", &["b"]), node("b", "Relu", &["a"])]).unwrap();
        assert!(g.execution_order(1).unwrap_err().message.contains("cycle"));
        let g = Graph::index(vec![node("w", "VariableV2", &[]), node("r", "Identity", &["w"])]).unwrap();
        assert_eq!(g.execution_order(1).unwrap_err().kind, CompileErrorKind::NotFrozen);
        let err = g.find("missing", "output").unwrap_err();
        assert_eq!(err.kind, CompileErrorKind::UnknownNode);
    }

    #[test]
    fn garbage_is_not_a_graph() {
        for bytes in [&b""[..], b"\xff\xff\xff\xff", b"\x0a\x10truncated"] {
            let err = Graph::decode(Bytes::copy_from_slice(bytes)).unwrap_err();
            assert_eq!(err.kind, CompileErrorKind::NotAGraph, "{bytes:?}");
        }
    }
}
