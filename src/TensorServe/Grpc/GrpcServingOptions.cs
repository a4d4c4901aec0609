namespace TensorServe.Grpc;

/// <summary>Server options the gRPC services need (from the command line).</summary>
public sealed record GrpcServingOptions
{
    /// <summary>
    /// <c>--enable_serialization_as_tensor_content</c>: Predict outputs are written as raw <c>tensor_content</c> bytes
    /// instead of the typed <c>*_val</c> fields.
    /// </summary>
    public bool SerializeAsTensorContent { get; init; }
}
