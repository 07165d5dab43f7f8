/// The lab's training defaults. Its `train_and_evaluate_model` signature is cut off in the text
/// we have; what it does show: EarlyStopping on val_accuracy with restore_best_weights is always
/// on, and the transfer part trains "epochs=10 # Faster convergence with transfer learning",
/// i.e. fewer than the models from scratch get, so 10 is the least that default can be. Keras's
/// usual patience for such labs is 3 (stops after three epochs without a better val_accuracy).
public enum LabDefaults {
    public static let epochs = 10
    public static let patience = 3
    public static let batchSize = 64
}
