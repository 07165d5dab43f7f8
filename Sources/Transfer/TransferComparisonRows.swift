import Reports

extension TransferResults {
    /// The transfer models as rows of the lab's all-models table.
    public var comparisonRows: [AllModelsTable.Row] {
        // The self-contained experiment (no ImageNet weights) is named so in every row.
        let kind = weights == nil ? ", self-contained" : ""
        return runs.map {
            AllModelsTable.Row(
                model: "\($0.name) \($0.mode)\(kind) (\(dataset))", dataset: dataset, accuracy: $0.testAccuracy,
                trainingSeconds: $0.trainingSeconds, inferenceMs: $0.inferenceMsPerImage,
                parameters: $0.totalParameters,
                trainableParameters: $0.trainableParameters)
        }
    }
}
