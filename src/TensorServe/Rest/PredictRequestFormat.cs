namespace TensorServe.Rest;

/// <summary>Which key a REST predict request used (spec §1.5); it selects the response layout (§1.6).</summary>
internal enum PredictRequestFormat
{
    /// <summary><c>"instances"</c> in, <c>"predictions"</c> out.</summary>
    Row,

    /// <summary><c>"inputs"</c> in, <c>"outputs"</c> out.</summary>
    Columnar,
}
