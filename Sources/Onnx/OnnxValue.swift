/// What an ONNX value name stands for while the graph is imported.
enum OnnxValue {
    /// A tensor the model computes: the output of layer `layer` ("input": the model's input).
    case runtime(OnnxRuntimeTensor)
    /// A tensor known at import (weights, shapes), folded away.
    case constant(OnnxConstant)
}

/// A computed tensor: cnnscope's shape (H,W,C or F, no batch) beside the ONNX shape it stands for.
struct OnnxRuntimeTensor {
    /// The layer spec that produces it ("input" for the model input).
    var layer: String
    /// cnnscope's shape without the batch: (H, W, C) or (F).
    var shape: [Int]
    /// ONNX's shape with the batch: (N, C, H, W), (N, F), or (N, C, 1, 1) after GlobalAveragePool.
    var onnxShape: [Int]
    /// For a flat tensor made by flattening an (H, W, C) map with H·W > 1: that map, since ONNX
    /// flattens channel-major (c·H·W + h·W + w) and cnnscope channel-last ((h·W + w)·C + c).
    var flattenedFrom: [Int]?
    /// The index of a Dense spec made from a MatMul whose bias a following Add may fill.
    var pendingDense: Int?
}
