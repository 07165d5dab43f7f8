/// The lab's own metric formulas, in one place (pure).
public enum LabFormulas {
    /// The lab's `accuracy_per_million_params = test_accuracy * 100 / (total_params / 1e6)`:
    /// accuracy in percent per million parameters (`accuracy` is a fraction, 0...1).
    public static func accuracyPerMillionParameters(accuracy: Double, parameters: Int) -> Double {
        accuracy * 100 / (Double(parameters) / 1e6)
    }
}
