namespace TensorServe.Models;

/// <summary>Which versions of a model to serve (<c>ServableVersionPolicy</c>, spec §5.2).</summary>
public abstract record VersionPolicy
{
    public static readonly VersionPolicy Default = new Latest(1);

    /// <summary>The N highest versions (0 is treated as 1).</summary>
    public sealed record Latest(uint NumVersions) : VersionPolicy;

    public sealed record All : VersionPolicy;

    public sealed record Specific(IReadOnlyList<long> Versions) : VersionPolicy;
}

/// <summary>One configured model (<c>ModelConfig</c>).</summary>
public sealed record ModelConfig(
    string Name,
    string BasePath,
    string Platform,
    VersionPolicy Policy,
    IReadOnlyDictionary<string, long> VersionLabels)
{
    public static ModelConfig Single(string name, string basePath) =>
        new(name, basePath, "tensorflow", VersionPolicy.Default, new Dictionary<string, long>());
}

/// <summary>
/// What a request asks for (<c>ModelSpec</c> resolved to a name plus optional version or label). Its string form is TF
/// Serving's <c>ServableRequest::DebugString</c> used in NOT_FOUND messages.
/// </summary>
public readonly record struct ModelRequest(string Name, long? Version = null, string? Label = null)
{
    public override string ToString() =>
        Version is { } v ? $"Specific({Name}, {v})" : $"Latest({Name})";
}
