//! ComfyUI API-format prompts: checked the way ComfyUI checks them (same error types and
//! shapes), then turned into branches Tinct can run: `LoadImage` → `DDColor_Colorize` →
//! `SaveImage` / `PreviewImage`. Any other node class is refused, not ignored.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// The node classes Tinct runs.
pub const LOAD_IMAGE: &str = "LoadImage";
pub const COLORIZE: &str = "DDColor_Colorize";
pub const SAVE_IMAGE: &str = "SaveImage";
pub const PREVIEW_IMAGE: &str = "PreviewImage";
/// Sends the result to the submitting client on the websocket instead of saving it for `/view`.
pub const SAVE_IMAGE_WEBSOCKET: &str = "SaveImageWebsocket";
/// `model_input_size` as ComfyUI-DDColor's node declares it: 32 to 4096 in steps of 32.
pub const MIN_INPUT_SIZE: u32 = 32;
pub const MAX_INPUT_SIZE: u32 = 4096;
/// The checkpoint names ComfyUI-DDColor offers; a workflow naming one of them runs on the model
/// imported under that name, or on the default model.
pub const DDCOLOR_CHECKPOINTS: [&str; 4] = [
    "ddcolor_paper_tiny.pth",
    "ddcolor_paper.pth",
    "ddcolor_modelscope.pth",
    "ddcolor_artistic.pth",
];
pub const SUPPORTED: [&str; 5] = [
    LOAD_IMAGE,
    COLORIZE,
    SAVE_IMAGE,
    PREVIEW_IMAGE,
    SAVE_IMAGE_WEBSOCKET,
];

/// One image through the graph: which upload, how it is colorized, where the result is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    pub load_node: String,
    /// The `LoadImage` input as written (`name.png` or `subfolder/name.png`).
    pub image: String,
    pub colorize_node: String,
    pub input_size: u32,
    pub checkpoint: String,
    pub output_node: String,
    /// `SaveImage` (type `output`) or `PreviewImage` (type `temp`).
    pub output_class: String,
}

/// A refusal in ComfyUI's shape: `{"error": {...}, "node_errors": {...}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptError {
    // Boxed: a JSON value is large, and this travels in every `Result` of the planner.
    pub error: Box<Value>,
    pub node_errors: Box<Value>,
}

impl PromptError {
    fn new(kind: &str, message: &str, details: impl Into<String>) -> Self {
        PromptError {
            error: Box::new(
                json!({ "type": kind, "message": message, "details": details.into(), "extra_info": {} }),
            ),
            node_errors: Box::new(json!({})),
        }
    }

    pub fn body(&self) -> Value {
        json!({ "error": self.error, "node_errors": self.node_errors })
    }
}

/// A link `["node id", output index]`, if `value` is one.
fn link(value: &Value) -> Option<&str> {
    match value.as_array()?.as_slice() {
        [Value::String(node), index] if index.is_u64() => Some(node),
        _ => None,
    }
}

struct NodeProblem {
    kind: &'static str,
    message: String,
    input: String,
}

/// Checks `prompt` and answers one branch per output node.
pub fn plan(prompt: &Value) -> Result<Vec<Branch>, PromptError> {
    let nodes: &Map<String, Value> = prompt.as_object().ok_or_else(|| {
        PromptError::new(
            "invalid_prompt",
            "Invalid prompt: the prompt must be an object of nodes",
            "",
        )
    })?;
    let mut unknown = Vec::new();
    for (id, node) in nodes {
        match node.get("class_type").and_then(Value::as_str) {
            None => {
                return Err(PromptError::new(
                    "invalid_prompt",
                    "Cannot execute because a node is missing the class_type property.",
                    format!("Node ID '#{id}'"),
                ))
            }
            Some(class) if !SUPPORTED.contains(&class) => {
                unknown.push(format!("{class} (node #{id})"))
            }
            Some(_) => {}
        }
    }
    if !unknown.is_empty() {
        return Err(PromptError::new(
            "invalid_prompt",
            &format!(
                "Cannot execute because these node classes do not exist in Tinct: {}. Tinct runs {}.",
                unknown.join(", "),
                SUPPORTED.join(", ")
            ),
            unknown.join(", "),
        ));
    }
    let class_of = |id: &str| nodes.get(id)?.get("class_type")?.as_str();
    let outputs: Vec<&String> = nodes
        .keys()
        .filter(|id| {
            matches!(
                class_of(id),
                Some(SAVE_IMAGE | PREVIEW_IMAGE | SAVE_IMAGE_WEBSOCKET)
            )
        })
        .collect();
    if outputs.is_empty() {
        return Err(PromptError::new(
            "prompt_no_outputs",
            "Prompt has no outputs",
            "",
        ));
    }

    let mut branches = Vec::new();
    let mut node_errors: BTreeMap<String, Value> = BTreeMap::new();
    for output in outputs {
        match branch(nodes, output) {
            Ok(b) => branches.push(b),
            Err((node, problem)) => {
                let entry = node_errors.entry(node.clone()).or_insert_with(|| {
                    json!({ "errors": [], "dependent_outputs": [], "class_type": class_of(&node).unwrap_or("") })
                });
                if let Some(errors) = entry["errors"].as_array_mut() {
                    if errors.is_empty() {
                        errors.push(json!({
                            "type": problem.kind,
                            "message": problem.message,
                            "details": problem.input,
                            "extra_info": { "input_name": problem.input },
                        }));
                    }
                }
                if let Some(dependents) = entry["dependent_outputs"].as_array_mut() {
                    dependents.push(json!(output));
                }
            }
        }
    }
    if !node_errors.is_empty() {
        let mut error = PromptError::new(
            "prompt_outputs_failed_validation",
            "Prompt outputs failed validation",
            "",
        );
        error.node_errors = Box::new(json!(node_errors));
        return Err(error);
    }
    Ok(branches)
}

/// Follows an output node back to its image: output ← colorize ← load.
fn branch(nodes: &Map<String, Value>, output: &str) -> Result<Branch, (String, NodeProblem)> {
    let input = |id: &str, name: &str| {
        nodes
            .get(id)
            .and_then(|n| n.get("inputs"))
            .and_then(|i| i.get(name))
    };
    let missing = |id: &str, name: &str| {
        (
            id.to_string(),
            NodeProblem {
                kind: "required_input_missing",
                message: "Required input is missing".into(),
                input: name.into(),
            },
        )
    };
    let wrong = |id: &str, name: &str, message: String| {
        (
            id.to_string(),
            NodeProblem {
                kind: "value_not_valid",
                message,
                input: name.into(),
            },
        )
    };
    let class_of = |id: &str| {
        nodes
            .get(id)
            .and_then(|n| n.get("class_type"))
            .and_then(Value::as_str)
    };

    let images = input(output, "images").ok_or_else(|| missing(output, "images"))?;
    let colorize = link(images)
        .ok_or_else(|| wrong(output, "images", "images must be a link to a node".into()))?;
    if class_of(colorize) != Some(COLORIZE) {
        return Err(wrong(
            output,
            "images",
            format!(
                "Tinct saves only what {COLORIZE} produced; node #{colorize} is {}",
                class_of(colorize).unwrap_or("missing")
            ),
        ));
    }
    let image = input(colorize, "image").ok_or_else(|| missing(colorize, "image"))?;
    let load = link(image)
        .ok_or_else(|| wrong(colorize, "image", "image must be a link to a node".into()))?;
    if class_of(load) != Some(LOAD_IMAGE) {
        return Err(wrong(
            colorize,
            "image",
            format!(
                "Tinct colorizes images from {LOAD_IMAGE}; node #{load} is {}",
                class_of(load).unwrap_or("missing")
            ),
        ));
    }
    let size =
        input(colorize, "model_input_size").ok_or_else(|| missing(colorize, "model_input_size"))?;
    let size = size
        .as_u64()
        .and_then(|s| u32::try_from(s).ok())
        .ok_or_else(|| {
            wrong(
                colorize,
                "model_input_size",
                "model_input_size must be a whole number".into(),
            )
        })?;
    // The same range as ComfyUI-DDColor's node, with ComfyUI's error types.
    let out_of_range = |kind: &'static str, message: String| {
        (
            colorize.to_string(),
            NodeProblem {
                kind,
                message,
                input: "model_input_size".into(),
            },
        )
    };
    if size < MIN_INPUT_SIZE {
        return Err(out_of_range(
            "value_smaller_than_min",
            format!("Value {size} smaller than min of {MIN_INPUT_SIZE}"),
        ));
    }
    if size > MAX_INPUT_SIZE {
        return Err(out_of_range(
            "value_bigger_than_max",
            format!("Value {size} bigger than max of {MAX_INPUT_SIZE}"),
        ));
    }
    let checkpoint =
        input(colorize, "checkpoint").ok_or_else(|| missing(colorize, "checkpoint"))?;
    let checkpoint = checkpoint.as_str().ok_or_else(|| {
        wrong(
            colorize,
            "checkpoint",
            "checkpoint must be a model name".into(),
        )
    })?;
    let file = input(load, "image").ok_or_else(|| missing(load, "image"))?;
    let file = file.as_str().ok_or_else(|| {
        wrong(
            load,
            "image",
            "image must be the name of an uploaded file".into(),
        )
    })?;
    Ok(Branch {
        load_node: load.to_string(),
        // ComfyUI's front end may append " [input]" to a file name.
        image: file.trim_end_matches(" [input]").to_string(),
        colorize_node: colorize.to_string(),
        input_size: size,
        checkpoint: checkpoint.to_string(),
        output_node: output.to_string(),
        output_class: class_of(output).unwrap_or(SAVE_IMAGE).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow() -> Value {
        serde_json::from_str(include_str!("../../../../workflows/portrait.json")).unwrap()
    }

    #[test]
    fn the_shipped_workflow_is_one_branch() {
        let branches = plan(&workflow()).unwrap();
        assert_eq!(
            branches,
            vec![Branch {
                load_node: "1".into(),
                image: "example.png".into(),
                colorize_node: "2".into(),
                input_size: 512,
                checkpoint: "ddcolor_paper_tiny.pth".into(),
                output_node: "3".into(),
                output_class: SAVE_IMAGE.into(),
            }]
        );
    }

    #[test]
    fn a_stable_diffusion_graph_is_refused_naming_its_unknown_nodes() {
        let sd = json!({
            "3": {"class_type": "KSampler", "inputs": {"model": ["4", 0], "seed": 1}},
            "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5.safetensors"}},
            "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "x"}}
        });
        let error = plan(&sd).unwrap_err();
        assert_eq!(error.error["type"], "invalid_prompt");
        let message = error.error["message"].as_str().unwrap();
        assert!(
            message.contains("KSampler") && message.contains("CheckpointLoaderSimple"),
            "{message}"
        );
    }

    #[test]
    fn an_input_size_out_of_the_nodes_range_uses_comfyuis_error_types() {
        for (size, kind) in [
            (16, "value_smaller_than_min"),
            (8192, "value_bigger_than_max"),
        ] {
            let mut graph = workflow();
            graph["2"]["inputs"]["model_input_size"] = json!(size);
            let error = plan(&graph).unwrap_err();
            assert_eq!(error.node_errors["2"]["errors"][0]["type"], kind, "{size}");
        }
    }

    #[test]
    fn missing_outputs_and_inputs_use_comfyuis_error_types() {
        let mut graph = workflow();
        graph.as_object_mut().unwrap().remove("3");
        assert_eq!(plan(&graph).unwrap_err().error["type"], "prompt_no_outputs");

        let mut graph = workflow();
        graph["2"]["inputs"]
            .as_object_mut()
            .unwrap()
            .remove("model_input_size");
        let error = plan(&graph).unwrap_err();
        assert_eq!(error.error["type"], "prompt_outputs_failed_validation");
        let node = &error.node_errors["2"];
        assert_eq!(node["class_type"], COLORIZE);
        assert_eq!(node["errors"][0]["type"], "required_input_missing");
        assert_eq!(
            node["errors"][0]["extra_info"]["input_name"],
            "model_input_size"
        );
        assert_eq!(node["dependent_outputs"], json!(["3"]));

        let error = plan(&json!({"1": {"inputs": {}}})).unwrap_err();
        assert_eq!(error.error["type"], "invalid_prompt");
    }
}
