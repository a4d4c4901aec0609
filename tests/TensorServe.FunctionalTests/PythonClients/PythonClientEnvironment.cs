using System.Diagnostics;
using TensorServe.Testing;

namespace TensorServe.FunctionalTests.PythonClients;

/// <summary>
/// What the Python client tests need on the machine: <c>python3</c> with <c>grpc</c>, <c>google.protobuf</c>,
/// <c>requests</c> and <c>numpy</c> (Debian: python3-grpcio python3-protobuf python3-requests python3-numpy), and
/// <c>protoc</c> with <c>grpc_python_plugin</c> (protobuf-compiler protobuf-compiler-grpc) to generate the stubs from
/// the repository's .proto files, as TF Serving users generate theirs.
/// </summary>
public static class PythonClientEnvironment
{
    /// <summary>Set to 1 (as CI does) to turn a missing prerequisite into a test failure instead of a skip.</summary>
    public const string RequireVariable = "TENSORSERVE_REQUIRE_PYTHON_CLIENTS";

    private static readonly Lazy<Probe> Probed = new(ProbeMachine);

    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Why the clients cannot run here, or null when everything is present.</summary>
    public static string? MissingReason => Probed.Value.Missing;

    /// <summary>The system interpreter, where Debian's python3-* packages are installed (not a pyenv shim on PATH).</summary>
    public static string Python => Probed.Value.Python;

    public static string Protoc => Probed.Value.Protoc;

    public static string GrpcPythonPlugin => Probed.Value.GrpcPlugin;

    /// <summary>src/TensorServe/Grpc/Protos of the repository the tests were built from.</summary>
    public static string ProtoRoot => Path.Combine(Fixtures.RepoRoot, "src", "TensorServe", "Grpc", "Protos");

    /// <summary>Folder holding <c>rest_client.py</c> and <c>grpc_client.py</c> (copied next to the test assembly).</summary>
    public static string ScriptsDirectory => Path.Combine(AppContext.BaseDirectory, "PythonClients");

    /// <summary>Throws with <see cref="MissingReason"/> when a prerequisite is missing.</summary>
    public static void EnsureAvailable()
    {
        if (MissingReason is { } reason)
        {
            throw new InvalidOperationException(
                $"Python client tests cannot run: {reason}" + (Required ? $" ({RequireVariable}=1 requires them)" : ""));
        }
    }

    private sealed record Probe(string Python, string Protoc, string GrpcPlugin, string? Missing);

    private static Probe ProbeMachine()
    {
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : FindOnPath("python3") ?? "python3";
        var protoc = FindOnPath("protoc");
        var plugin = File.Exists("/usr/bin/grpc_python_plugin") ? "/usr/bin/grpc_python_plugin" : FindOnPath("grpc_python_plugin");
        var missing = new List<string>();

        var modules = RunProbe(python, "-c", "import grpc, google.protobuf, requests, numpy");
        if (modules is not null)
        {
            missing.Add($"{python} cannot import grpc, google.protobuf, requests and numpy ({modules}); " +
                        "install python3-grpcio python3-protobuf python3-requests python3-numpy");
        }
        if (protoc is null)
        {
            missing.Add("protoc not found on PATH; install protobuf-compiler");
        }
        if (plugin is null)
        {
            missing.Add("grpc_python_plugin not found; install protobuf-compiler-grpc");
        }
        if (Fixtures.RepoRoot.Length == 0 || !Directory.Exists(ProtoRoot))
        {
            missing.Add($"the repository's .proto files were not found (no Native.sln above {AppContext.BaseDirectory})");
        }
        return new Probe(python, protoc ?? "protoc", plugin ?? "grpc_python_plugin",
            missing.Count == 0 ? null : string.Join("; ", missing));
    }

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(dir, name);
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>Runs a short probe command; null when it exits 0, else what went wrong.</summary>
    private static string? RunProbe(string fileName, params string[] args)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        try
        {
            using var process = System.Diagnostics.Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(30_000))
            {
                process.Kill(entireProcessTree: true);
                return "timed out";
            }
            if (process.ExitCode == 0)
            {
                return null;
            }
            var lines = stderr.GetAwaiter().GetResult().TrimEnd().Split('\n');
            return lines[^1].Trim();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return ex.Message;
        }
    }
}

/// <summary>
/// A <see cref="FactAttribute"/> skipped, with the reason, when the Python clients cannot run on this machine — unless
/// <c>TENSORSERVE_REQUIRE_PYTHON_CLIENTS=1</c>, when the test runs and fails with that reason instead.
/// </summary>
public sealed class PythonClientFactAttribute : FactAttribute
{
    public PythonClientFactAttribute()
    {
        if (!PythonClientEnvironment.Required && PythonClientEnvironment.MissingReason is { } reason)
        {
            Skip = $"{reason} (set {PythonClientEnvironment.RequireVariable}=1 to make this a failure)";
        }
    }
}
