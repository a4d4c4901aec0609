namespace TensorServe.Testing;

/// <summary>
/// Locates the shared fixtures (real models and test vectors, read-only) at <c>&lt;repo&gt;/../shared/fixtures</c>, where
/// <c>&lt;repo&gt;</c> is the folder holding <c>Native.sln</c>, found by walking up from the test binaries.
/// </summary>
public static class Fixtures
{
    private const string SolutionFile = "Native.sln";

    static Fixtures()
    {
        RepoRoot = FindRepoRoot() ?? "";
        Root = RepoRoot.Length == 0
            ? System.IO.Path.GetFullPath(System.IO.Path.Combine(AppContext.BaseDirectory, "shared", "fixtures"))
            : System.IO.Path.GetFullPath(System.IO.Path.Combine(RepoRoot, "..", "shared", "fixtures"));
    }

    /// <summary>The repository root (folder containing Native.sln), or "" when the tests run outside a checkout.</summary>
    public static string RepoRoot { get; }

    /// <summary>Absolute path of the fixtures folder (it may not exist; see <see cref="Available"/>).</summary>
    public static string Root { get; }

    public static bool Available => Directory.Exists(Root);

    /// <summary>Why fixture tests are skipped, or null when the folder exists.</summary>
    public static string? SkipReason => Available
        ? null
        : $"shared fixtures folder not found at {Root}: it is expected beside the repository " +
          $"(<repo>/../shared/fixtures){(RepoRoot.Length == 0 ? $"; no {SolutionFile} found above {AppContext.BaseDirectory}" : "")}";

    /// <summary>A path under the fixtures folder, e.g. <c>Fixtures.Path("onnx", "onnx_backend_tests")</c>.</summary>
    public static string Path(params string[] parts) =>
        System.IO.Path.Combine([Root, .. parts]);

    private static string? FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, SolutionFile)))
            {
                return dir.FullName;
            }
        }
        return null;
    }
}

/// <summary>A <see cref="FactAttribute"/> that is skipped, with the reason, when the shared fixtures folder is missing.</summary>
public sealed class FixtureFactAttribute : FactAttribute
{
    public FixtureFactAttribute()
    {
        if (Fixtures.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>A <see cref="TheoryAttribute"/> that is skipped, with the reason, when the shared fixtures folder is missing.</summary>
public sealed class FixtureTheoryAttribute : TheoryAttribute
{
    public FixtureTheoryAttribute()
    {
        if (Fixtures.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}
