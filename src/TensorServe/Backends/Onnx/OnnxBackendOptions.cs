namespace TensorServe.Backends.Onnx;

/// <summary>
/// Session settings for every ONNX model version. The host maps <c>--tensorflow_intra_op_parallelism</c>,
/// <c>--tensorflow_inter_op_parallelism</c> and <c>--tensorflow_session_parallelism</c> onto these; 0 lets ONNX Runtime
/// choose (one intra-op thread per physical core), as 0 lets TensorFlow choose.
/// </summary>
internal sealed class OnnxBackendOptions
{
    public static readonly OnnxBackendOptions Default = new();

    /// <summary>Threads one operator may use (<c>SessionOptions.IntraOpNumThreads</c>); 0 = ORT default.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// Threads for running independent operators concurrently (<c>SessionOptions.InterOpNumThreads</c>); 0 = ORT default.
    /// A value above 1 also switches the session to parallel execution, the only mode in which ORT uses these threads.
    /// </summary>
    public int InterOpThreads { get; init; }
}
