using TensorServe.Models;
using TensorServe.Tensors;

namespace TensorServe.Rest;

/// <summary>Top-level facts of a predict body, found before the servable is resolved (spec §1.5 steps 2-4).</summary>
internal readonly record struct PredictRequestEnvelope(string? SignatureName, bool HasInstances, bool HasInputs);

/// <summary>
/// Parses TF Serving's predict JSON (spec §1.5). Placeholder until the RapidJSON-compatible parser lands.
/// </summary>
internal static class PredictRequestParser
{
    public static PredictRequestEnvelope ParseEnvelope(ReadOnlySpan<byte> body) =>
        throw ServingException.Unimplemented("REST predict parsing is not available yet");

    public static PredictRequestFormat ParseInputs(ReadOnlySpan<byte> body, in PredictRequestEnvelope envelope,
        SignatureDef signature, string? requestedSignatureName, List<KeyValuePair<string, Tensor>> inputs) =>
        throw ServingException.Unimplemented("REST predict parsing is not available yet");
}
