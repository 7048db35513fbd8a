import PardCheckpoint

/// Opening the files pard runs: the released `.pth` checkpoints and pard's own `.safetensors`.
public enum ModelFile {
    /// Where the canonical names live in a released checkpoint: CLIP's state dict under `ViT_model`, the
    /// fusion and heads under `model_state_dict`; a bare state dict (possibly from DataParallel) also works.
    public static let checkpointPrefixes = ["ViT_model.", "model_state_dict.", "", "module."]
}
